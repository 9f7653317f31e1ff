# http_peer.py — the FastAPI peer for bench/http_layer/run.sh: the original stack's GET /health.
from fastapi import FastAPI
app = FastAPI()

@app.get("/health")
def health():
    return {"status": "healthy"}

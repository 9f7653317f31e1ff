# FastAPI hello world: the ratio reference for GET /health (Debian python3-fastapi + uvicorn).
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health():
    return {"status": "healthy", "openai_configured": False}

"""store_peer.py — the Python peers for bench/store/run.sh: the same store calls done the way the
original service did them (SQLAlchemy ORM, one Session per request) and with the stdlib sqlite3
module running our SQL. Same schema shape, same pragmas (WAL, synchronous=NORMAL), same data,
results built into dicts with ISO-8601 timestamps (what our calls return as jansson objects).
Usage: /usr/bin/python3 bench/store/store_peer.py [ops-per-round]"""
import datetime, os, sqlite3, statistics, sys, tempfile, time

from sqlalchemy import (BigInteger, Column, ForeignKey, Integer, String, Text, create_engine, event)
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

Base = declarative_base()
EPOCH = datetime.datetime(1970, 1, 1)


def iso(us):
    return (EPOCH + datetime.timedelta(microseconds=us)).isoformat(timespec="microseconds") + "Z"


def now_us():
    return time.time_ns() // 1000


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    email = Column(String, unique=True, nullable=False)


class Conversation(Base):
    __tablename__ = "conversations"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title = Column(String, nullable=False, default="New Chat")
    model = Column(String)
    is_archived = Column(Integer, nullable=False, default=0)
    message_count = Column(Integer, nullable=False, default=0)
    created_at = Column(BigInteger, nullable=False)
    updated_at = Column(BigInteger, nullable=False)
    messages = relationship("Message", order_by="(Message.created_at, Message.id)")


class Message(Base):
    __tablename__ = "messages"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    role = Column(String, nullable=False)
    content = Column(Text, nullable=False)
    model = Column(String)
    prompt_tokens = Column(Integer)
    completion_tokens = Column(Integer)
    created_at = Column(BigInteger, nullable=False)


INDEXES = ["CREATE INDEX conv_user_arch ON conversations (user_id, is_archived, updated_at, id)",
           "CREATE INDEX msg_conv ON messages (conversation_id, created_at, id)"]


def conv_item(c):
    return {"id": c.id, "title": c.title, "model": c.model, "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at), "message_count": c.message_count,
            "is_archived": bool(c.is_archived)}


def setup(path):
    eng = create_engine("sqlite:///" + path)

    @event.listens_for(eng, "connect")
    def pragmas(conn, _):
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")

    Base.metadata.create_all(eng)
    with eng.begin() as c:
        for s in INDEXES:
            c.exec_driver_sql(s)
    S = sessionmaker(bind=eng, expire_on_commit=False)
    s = S()
    u = User(email="bench@example.com")
    s.add(u)
    s.commit()
    big = None
    for i in range(31):
        t = now_us()
        c = Conversation(user_id=u.id, title="Roping practice", model="gpt-4o-mini", created_at=t, updated_at=t)
        s.add(c)
        s.commit()
        for m in range(10 if i == 30 else 2):
            s.add(Message(conversation_id=c.id, role="assistant" if m % 2 else "user",
                          content="Keep your elbow in and follow through toward the target; practice on a dummy "
                                  "until the swing is smooth, then add speed." if m % 2 else "How do I improve my heel loop?",
                          model="gpt-4o-mini", prompt_tokens=12, completion_tokens=40, created_at=now_us()))
            c.message_count += 1
            c.updated_at = now_us()
            s.commit()
        big = c.id
    s.close()
    return eng, S, u.id, big


def orm_ops(S, uid, big):
    def list20():
        s = S()
        rows = (s.query(Conversation).filter(Conversation.user_id == uid, Conversation.is_archived == 0)
                .order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(20).offset(0).all())
        out = [conv_item(c) for c in rows]
        s.close()
        return out

    def get10():
        s = S()
        c = s.query(Conversation).filter(Conversation.id == big, Conversation.user_id == uid).one()
        out = conv_item(c)
        out["messages"] = [{"id": m.id, "role": m.role, "content": m.content, "model": m.model,
                            "prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens,
                            "created_at": iso(m.created_at)} for m in c.messages]
        s.close()
        return out

    def create():
        s = S()
        t = now_us()
        c = Conversation(user_id=uid, title="Bench chat", model="gpt-4o-mini", created_at=t, updated_at=t)
        s.add(c)
        s.commit()
        out = {"id": c.id, "title": c.title, "model": c.model, "created_at": iso(c.created_at)}
        s.close()
        return out

    return [("conversation_list_20", list20, 1), ("conversation_get_10", get10, 1), ("conversation_create", create, 2)]


def raw_ops(path, uid, big):
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")

    def list20():
        cur = db.execute("SELECT id, title, model, created_at, updated_at, message_count, is_archived "
                         "FROM conversations WHERE user_id = ? AND is_archived = ? "
                         "ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?", (uid, 0, 20, 0))
        return [{"id": r[0], "title": r[1], "model": r[2], "created_at": iso(r[3]), "updated_at": iso(r[4]),
                 "message_count": r[5], "is_archived": bool(r[6])} for r in cur]

    def get10():
        r = db.execute("SELECT id, title, model, created_at, updated_at, is_archived, message_count "
                       "FROM conversations WHERE id = ? AND user_id = ?", (big, uid)).fetchone()
        out = {"id": r[0], "title": r[1], "model": r[2], "created_at": iso(r[3]), "updated_at": iso(r[4]),
               "is_archived": bool(r[5]), "message_count": r[6]}
        out["messages"] = [{"id": m[0], "role": m[1], "content": m[2], "model": m[3], "prompt_tokens": m[4],
                            "completion_tokens": m[5], "created_at": iso(m[6])} for m in db.execute(
            "SELECT id, role, content, model, prompt_tokens, completion_tokens, created_at FROM messages "
            "WHERE conversation_id = ? ORDER BY created_at, id", (big,))]
        return out

    def create():
        t = now_us()
        r = db.execute("INSERT INTO conversations (user_id, title, model, is_archived, message_count, created_at, "
                       "updated_at) VALUES (?, ?, ?, 0, 0, ?, ?) RETURNING id, title, model, created_at",
                       (uid, "Bench chat", "gpt-4o-mini", t, t)).fetchone()
        return {"id": r[0], "title": r[1], "model": r[2], "created_at": iso(r[3])}

    return [("conversation_list_20", list20, 1), ("conversation_get_10", get10, 1), ("conversation_create", create, 2)]


def run(label, ops, n):
    for name, fn, div in ops:
        k = max(1, n // div)
        for _ in range(k // 10):
            fn()
        per, cpu = [], []
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.thread_time()
            for _ in range(k):
                fn()
            per.append((time.perf_counter() - t0) / k * 1e6)
            cpu.append((time.thread_time() - c0) / k * 1e6)
        per.sort()
        cpu.sort()
        print(f"{label:7s} {name:22s} median {per[2]:8.1f} us/op  (min {per[0]:.1f}, max {per[4]:.1f})  "
              f"cpu {cpu[2]:8.1f} us/op  1 thread {1e6 / per[2]:8.0f} ops/s", flush=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    n = max(10, n // 4)          # the peers are slower; keep a round short
    d = tempfile.mkdtemp(prefix="rodeo-store-peer-")
    path = os.path.join(d, "peer.db")
    eng, S, uid, big = setup(path)
    run("orm", orm_ops(S, uid, big), n)
    run("sqlite3", raw_ops(path, uid, big), n)
    eng.dispose()
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)


if __name__ == "__main__":
    main()

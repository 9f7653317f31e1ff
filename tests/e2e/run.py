#!/usr/bin/env python3
"""run.py — runs every tests/e2e/test_*.py against a real server binary.

Each module gets one Server (module-level SERVER_ENV dict adds environment variables; a
module may define setup_module(srv)/teardown_module() for peers it needs). A failing test
prints its traceback and the server's log tail. Ends with "N passed, N failed".
  run.py --binary build/rodeo [--database-url URL] [--quick] [-k substring]
--quick skips tests marked slow (function attribute slow = True), for the sanitizer run.
"""
import argparse
import importlib.util
import glob
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/rodeo")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-k", default="")
    args = ap.parse_args()
    os.environ["RODEO_BINARY"] = os.path.abspath(args.binary)
    os.environ["RODEO_TEST_DATABASE_URL"] = args.database_url
    import harness
    harness.BINARY = os.environ["RODEO_BINARY"]
    harness.DATABASE_URL = args.database_url

    passed = failed = skipped = 0
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        name = os.path.basename(path)[:-3]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tests = [(n, f) for n, f in vars(mod).items() if n.startswith("test_") and callable(f)]
        tests = [(n, f) for n, f in tests if args.k in "%s.%s" % (name, n)]
        if not tests:
            continue
        if getattr(mod, "POSTGRES_ONLY", False) and not args.database_url:
            continue
        if getattr(mod, "SQLITE_ONLY", False) and args.database_url:
            continue
        tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        if args.database_url:
            # each module gets a database of its own, as each gets its own data dir on SQLite
            harness.DATABASE_URL = harness.fresh_database(args.database_url, name)
        srv = None
        try:
            if hasattr(mod, "setup_module"):
                mod.setup_module()
            env = dict(getattr(mod, "SERVER_ENV", {}))
            if getattr(mod, "OWN_SERVER", False):
                srv = None
            else:
                srv = harness.Server(env=env).start()
            for tname, fn in tests:
                if args.quick and getattr(fn, "slow", False):
                    skipped += 1
                    continue
                t0 = time.time()
                try:
                    fn(srv)
                    passed += 1
                    if os.environ.get("TEST_VERBOSE"):
                        print("ok   %s.%s (%.0f ms)" % (name, tname, (time.time() - t0) * 1000))
                except Exception:
                    failed += 1
                    print("FAIL %s.%s" % (name, tname))
                    traceback.print_exc()
                    if srv:
                        print("---- server log tail ----\n" + srv.read_log()[-3000:])
                    sys.stdout.flush()
        except Exception:
            failed += 1
            print("FAIL %s (module setup)" % name)
            traceback.print_exc()
            if srv:
                print("---- server log tail ----\n" + srv.read_log()[-3000:])
        finally:
            if srv:
                try:
                    rc = srv.stop()
                    if rc not in (0, None):
                        failed += 1
                        print("FAIL %s: server exit code %s on SIGTERM\n%s" % (name, rc, srv.read_log()[-4000:]))
                finally:
                    srv.cleanup()
            if hasattr(mod, "teardown_module"):
                mod.teardown_module()
    print("e2e: %d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

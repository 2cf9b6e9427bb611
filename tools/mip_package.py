"""Write package.json for mip: `mpremote connect PORT mip install package.json` from a checkout (or the
repository's URL once published) installs the firmware library into the board's /lib: only what a
board runs. The board app (main.py, app.py), boot.py and the board glue are not part of the library,
nor are the CPython stand-ins (coap/*_cpython.py: const/ticks, cryptolib; a board has the real ones).

  python tools/mip_package.py          # rewrite package.json
  python tools/mip_package.py --check  # exit 1 if package.json is stale
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
VERSION = "0.1.0"


def manifest():
    urls = []
    for d, dirs, files in os.walk(FIRMWARE):
        dirs[:] = sorted(x for x in dirs if not x.startswith("__"))
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(d, f), FIRMWARE).replace(os.sep, "/")
            if rel in ("main.py", "boot.py", "app.py"):   # the board app: make deploy installs it
                continue
            if rel.endswith("_cpython.py"):                 # CPython stand-ins: never on a board
                continue
            urls.append([rel, "firmware/" + rel])
    return {"urls": urls, "deps": [], "version": VERSION}


def text():
    return json.dumps(manifest(), indent=2) + "\n"


def main():
    path = os.path.join(ROOT, "package.json")
    if "--check" in sys.argv:
        cur = open(path).read() if os.path.exists(path) else ""
        if cur != text():
            sys.exit("package.json is stale: run python tools/mip_package.py")
        return
    with open(path, "w") as f:
        f.write(text())
    print("package.json: %d files" % len(manifest()["urls"]))


if __name__ == "__main__":
    main()

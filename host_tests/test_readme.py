# README.md, followed literally: every fenced block preceded by the marker
#     <!-- runnable [background] [timeout=S] [expect="REGEX"] -->
# runs as written from the repository root, in document order: ```sh blocks with bash -e (a timeout),
# ```python blocks with the .venv interpreter. A `background` block keeps running (a server, as in its
# own terminal) until every block after it has run, then it is stopped (SIGTERM); it must not have died
# before. `expect`: a regex the block's output must match. Only quick blocks are marked (not make
# demo / make test). Also: the README points to the drafts by name and link, has no placeholder.
import os
import re
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
MARK = re.compile(r"^<!--\s*runnable\b(.*?)-->\s*$")
ATTR = re.compile(r'(\w+)(?:=("[^"]*"|\S+))?')


def snippets(text):
    """[(line number, language, code, {attr: value})] of the marked blocks, in order."""
    out = []
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        m = MARK.match(ln.strip())
        if not m:
            continue
        attrs = {k: (v[1:-1] if v.startswith('"') else v) if v else True for k, v in ATTR.findall(m.group(1))}
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        fence = lines[j].strip() if j < len(lines) else ""
        assert fence.startswith("```") and fence[3:] in ("sh", "python"), \
            "README.md:%d: a runnable marker must precede a ```sh or ```python block" % (i + 1)
        k = j + 1
        while k < len(lines) and lines[k].strip() != "```":
            k += 1
        out.append((j + 1, fence[3:], "\n".join(lines[j + 1:k]) + "\n", attrs))
    return out


def _cmd(lang, code):
    return ["bash", "-e", "-o", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]


def test_marker_parsing():
    text = 'x\n<!-- runnable background timeout=5 expect="a b" -->\n\n```sh\necho hi\n```\n<!-- runnable -->\n```python\nprint(1)\n```\n'
    s = snippets(text)
    assert s == [(4, "sh", "echo hi\n", {"background": True, "timeout": "5", "expect": "a b"}),
                 (8, "python", "print(1)\n", {})]


def test_readme_cites_the_drafts_and_has_no_placeholders():
    text = open(README).read()
    for draft in ("draft-tiloca-core-observe-multicast-notifications-04", "draft-ietf-core-coap-pm"):
        assert re.search(r"\]\(https://datatracker\.ietf\.org/doc/[^)]*%s" % draft, text), draft
    for bad in ("../shared/specs", "OWNER/REPO", "github:OWNER"):
        assert bad not in text, bad
    assert "c.run()" not in text.replace("c.run() alone never returns", "")   # run(duration_ms) is shown


def test_mip_package_is_the_library_only():
    import json
    urls = [u[0] for u in json.load(open(os.path.join(ROOT, "package.json")))["urls"]]
    assert "coapcast.py" in urls and any(u.startswith("coap/") for u in urls)
    assert not {"app.py", "main.py", "boot.py"} & set(urls), urls


def test_readme_runnable_blocks_run_as_written(tmp_path):
    blocks = snippets(open(README).read())
    assert len(blocks) >= 4, "the README lost its runnable blocks"
    bg = []
    try:
        for line, lang, code, attrs in blocks:
            where = "README.md:%d (%s)" % (line, lang)
            if attrs.get("background"):
                log = open(str(tmp_path / ("bg%d.log" % line)), "w+")
                p = subprocess.Popen(_cmd(lang, code), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
                bg.append((where, p, log))
                _wait_started(p, log, where)
                continue
            rc, out = _run_block(_cmd(lang, code), float(attrs.get("timeout", 60)))
            assert rc == 0, "%s failed (exit %s):\n%s\n--- output:\n%s" % (where, rc, code, out[-3000:])
            if "expect" in attrs:
                assert re.search(attrs["expect"], out, re.S), "%s: no %r in:\n%s" % (where, attrs["expect"], out[-3000:])
        for where, p, log in bg:
            log.seek(0)
            assert p.poll() is None, "%s exited early (%s):\n%s" % (where, p.returncode, log.read()[-3000:])
    finally:
        for where, p, log in bg:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
            log.close()


def _run_block(cmd, timeout):
    """Run a foreground block in its own process group; (exit status or "timeout", output). Whatever
    the block started and left running (a failed step under bash -e, a timeout) is killed with it."""
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = "timeout after %g s" % timeout
        out = ""
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if rc != 0 and not out:
        out, _ = p.communicate()
    return rc, out or ""


def _wait_started(p, log, where, timeout=15):
    """A background block has started when it printed a line (the server: `listening on`)."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        log.seek(0)
        text = log.read()
        if p.poll() is not None:
            pytest.fail("%s exited at once (%s):\n%s" % (where, p.returncode, text[-3000:]))
        if text.strip():
            return
        time.sleep(0.1)
    pytest.fail("%s printed nothing in %d s" % (where, timeout))

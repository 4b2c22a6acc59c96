#!/usr/bin/env python
"""Open a shot report's page in headless Chromium, as a supervisor's browser shows it, and check what they see.

Reads the rendered page: the verdict sits above the fold (in a 1280x800 window), the frames to look at are loaded,
and the review movie's element has loaded with a video and an audio track where the dub has a line. Saves a
screenshot of the first screen. Exit 1 when a check fails, 2 when Chromium is missing.

Needs Debian's Chromium: where it is missing and the script runs as root on a Debian machine, it installs it
(``apt-get install chromium``) first. Nothing in the report is changed: the page is read from a temporary copy
beside a link to the review movie.

    python scripts/check_report_page.py WORK/report --screenshot docs/images/report_page.png [--expect-sound]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WINDOW = (1280, 800)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PROBE_ID = "dk-probe"
# Appended to a copy of the page: once the movie's metadata has loaded (or failed), writes what the page shows
# into an element that --dump-dom prints.
PROBE = """<script>
(function () {
  function probe() {
    var v = document.getElementById("review"), verdict = document.getElementById("verdict");
    var box = verdict ? verdict.getBoundingClientRect() : null;
    var thumbs = Array.prototype.slice.call(document.querySelectorAll(".looks img"));
    var out = document.createElement("pre");
    out.id = "%s";
    out.textContent = JSON.stringify({
      verdict_first_line: verdict ? verdict.textContent.split("\\n")[0] : null,
      verdict_bottom: box ? box.bottom : null, window_height: window.innerHeight,
      thumbnails: thumbs.length, thumbnails_loaded: thumbs.filter(function (i) { return i.naturalWidth > 0; }).length,
      movie_ready_state: v ? v.readyState : null, movie_error: v && v.error ? v.error.code : null,
      movie_seconds: v ? v.duration : null, movie_width: v ? v.videoWidth : 0,
      audio_tracks: v && v.audioTracks ? v.audioTracks.length : null
    });
    document.body.appendChild(out);
  }
  var v = document.getElementById("review");
  if (!v) { probe(); return; }
  if (v.readyState >= 1) { probe(); return; }
  v.addEventListener("loadedmetadata", probe, {once: true});
  v.addEventListener("error", probe, {once: true});
})();
</script>""" % PROBE_ID


def find_browser() -> str | None:
    """Chromium's path; where it is missing and this is root on Debian, Debian's package installed first."""
    found = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if found or not shutil.which("apt-get") or os.geteuid() != 0:
        return found
    print("installing Debian's chromium (apt-get) ...", file=sys.stderr)
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(command, capture_output=True).returncode != 0:
            return None
    return shutil.which("chromium")


def _chromium(browser: str, page: Path, *args: str) -> str:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--allow-file-access-from-files", "--enable-blink-features=AudioVideoTracks",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", *args, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{browser} failed on {page} (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def read_page(browser: str, report: Path) -> dict:
    """What the page shows in Chromium: the probe's figures (see PROBE)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "index.html"
        page = (report / "index.html").read_text(encoding="utf-8")
        copy.write_text(page.replace("</body>", PROBE + "\n</body>"), encoding="utf-8")
        for name in ("review.mp4", "metrics.json"):
            if (report / name).exists():
                (Path(tmp) / name).symlink_to((report / name).resolve())
        dom = _chromium(browser, copy, "--virtual-time-budget=20000", "--dump-dom")
    start = dom.find(f'<pre id="{PROBE_ID}">')
    if start < 0:
        raise RuntimeError(f"{report / 'index.html'}: the page did not finish loading in Chromium (no probe result)")
    text = dom[start:].split(">", 1)[1].split("</pre>", 1)[0]
    return json.loads(text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def problems(seen: dict, expect_sound: bool) -> list[str]:
    """The checks the page fails, each a sentence; empty when it passes."""
    found = []
    if not (seen.get("verdict_first_line") or "").lstrip().startswith(("delivered:", "quick look")):
        found.append(f"the page does not open with the verdict (first line: {seen.get('verdict_first_line')!r})")
    elif seen["verdict_bottom"] > seen["window_height"]:
        found.append(f"the verdict ends {seen['verdict_bottom']:.0f} px down, below the fold "
                     f"({seen['window_height']} px)")
    if seen.get("thumbnails_loaded") != seen.get("thumbnails"):
        found.append(f"{seen['thumbnails'] - seen['thumbnails_loaded']} of {seen['thumbnails']} frames to look at "
                     "did not load")
    if seen.get("movie_error") is not None or not seen.get("movie_ready_state") or not seen.get("movie_width"):
        found.append(f"the review movie did not load (ready state {seen.get('movie_ready_state')}, media error "
                     f"{seen.get('movie_error')}); this Chromium may lack H.264")
    elif expect_sound and not seen.get("audio_tracks"):
        found.append("the review movie has no audio track, though the dub has a line")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path, help="the report folder (WORK/report) or its work folder")
    parser.add_argument("--screenshot", type=Path, help="PNG of the first screen, as the browser shows it")
    parser.add_argument("--expect-sound", action="store_true", help="the dub has a line: its audio track must load")
    args = parser.parse_args()
    report = args.report / "report" if (args.report / "report" / "index.html").is_file() else args.report
    if not (report / "index.html").is_file():
        print(f"{report}: no index.html; run `dubkernels report WORK` first.", file=sys.stderr)
        return 1
    browser = find_browser()
    if browser is None:
        print("no Chromium found, and it could not be installed here; install Debian's package: apt-get install "
              "chromium", file=sys.stderr)
        return 2
    seen = read_page(browser, report)
    print(json.dumps(seen, indent=1))
    if args.screenshot:
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        _chromium(browser, (report / "index.html").resolve(), f"--screenshot={args.screenshot.resolve()}")
        print(f"screenshot: {args.screenshot}")
    failed = problems(seen, args.expect_sound)
    for line in failed:
        print(f"FAIL  {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

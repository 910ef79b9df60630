"""benchmarks/speed.py's goal verdicts and report on synthetic numbers: nothing is run or timed."""

from __future__ import annotations

import pytest

from benchmarks import speed


def _e(section, case, tool, *seconds, peak_kib=50 * 1024, files=None, **extra):
    runs = [{"seconds": s, "peak_kib": peak_kib} for s in seconds]
    if files:
        for r in runs:
            r["files"] = files
    return dict({"section": section, "case": case, "tool": tool, "command": f"{tool} …", "runs": runs}, **extra)


def _data(kmq_web=(6.0, 5.0, 7.0), kmq_peak_mib=100.0, cli_mb=480.0, app=None) -> dict:
    files = [["a.png", 0.1, int(kmq_peak_mib * 1024)], ["b.png", 0.1, 1000]]
    web = [
        _e("web-per-file", "plain", "kmq", *kmq_web, files=files),
        _e("web-per-file", "plain", "pq3", 4.0, 4.0, 4.0, files=[["a.png", 0.1, 20000], ["b.png", 0.05, 30000]]),
        _e("web-per-file", "fs", "kmq", 10.0, 10.0, 10.0, files=[["a.png", 0.1, 200 * 1024]]),
        _e("web-per-file", "fs", "pq3", 4.0, 4.0, 4.0, files=[["a.png", 0.1, 20000]]),
        _e("web-one-command", "plain", "kmq", 2.0, 2.0, 2.0),
        _e("web-one-command", "plain", "pq3", 3.0, 3.0, 3.0),
        _e("web-one-command", "plain", "pq2", 3.5),
    ]
    for e in web:
        e["files"] = 2
    mp = [dict(_e("12mp", f"k=64 {m}", t, s), k=64, mode=m)
          for m, t, s in (("plain", "kmq", 2.0), ("plain", "pq3", 5.0), ("fs", "kmq", 3.0), ("fs", "pq3", 5.0))]
    return {
        "machine": {"date_utc": "2026-12-07 21:00 UTC", "cpu": "test CPU", "cores": 2, "memory": "1 GB",
                    "os": "Linux", "python": "3.11", "load_average_at_start": [1.0, 1.0, 1.0]},
        "versions": {"kmq": "abc1234", "pngquant 3": "3.0.3"},
        "settings": {"command": "python -m benchmarks.speed", "runs": 3},
        "seconds": 100.0, "load_average_at_end": [2.0, 2.0, 2.0],
        "web": web, "12mp": mp,
        "memory": {"width": 8181, "height": 7221, "k": 256, "decoded_mb": 177.2,
                   "cli": {"status": "ok", "peak_rss_mb": cli_mb, "time_s": 30.0},
                   "library": {"status": "ok", "peak_rss_mb": 500.0}},
        "anim": {"clip": "astronaut, 60 frames of 640×360 at 100 ms (x)", "k": 128,
                 "entries": [_e("anim", "none", "kmq", 4.0, 5.0), _e("anim", "none", "ffmpeg", 4.5, 4.5)]},
        "imports": [dict(_e("imports", "kmq-help", "kmq", 0.1, 0.2, 0.3), title="kmq --help")],
        "app": app,
    }


def _by_where(goals, text):
    hits = [g for g in goals if text in g["where"]]
    assert len(hits) == 1, [g["where"] for g in goals]
    return hits[0]


def test_ratio_goals_use_medians_and_say_by_how_much():
    goals = speed.compute_goals(_data())
    per_file = _by_where(goals, "one process per file (sum), default")
    assert per_file["value"] == pytest.approx(6.0 / 4.0)  # medians: 6.0 against 4.0
    assert per_file["met"] is True and per_file["text"].startswith("MET")  # 1.5× is at the limit, still met
    # the files that trail most and least: b.png 0.1 s against 0.05 s
    assert "per file 1.00× (a.png) to 2.00× (b.png), median 1.50×" in per_file["text"]
    fs = _by_where(goals, "one process per file (sum), --dither fs")
    assert fs["met"] is False
    assert "2.50×" in fs["text"] and "1.67× the limit" in fs["text"] and fs["text"].startswith("MISSED")
    one = _by_where(goals, "one command, default")
    assert one["met"] is True and one["value"] == pytest.approx(2 / 3)
    # a pair with no pngquant 3 figure is not measured, never met
    assert _by_where(goals, "one command, --dither fs")["met"] is None
    assert _by_where(goals, "k=64, default")["met"] is True  # 2/5 = 0.4 ≤ 0.5
    assert _by_where(goals, "k=64, --dither fs")["met"] is False  # 3/5 = 0.6
    assert _by_where(goals, "animation")["met"] is True  # medians 4.5 against 4.5: no slower


def test_animation_at_equal_time_is_met_and_slower_is_missed():
    data = _data()
    data["anim"]["entries"][0]["runs"] = [{"seconds": 4.5, "peak_kib": 1}]
    assert _by_where(speed.compute_goals(data), "animation")["met"] is True
    data["anim"]["entries"][0]["runs"] = [{"seconds": 4.6, "peak_kib": 1}]
    assert _by_where(speed.compute_goals(data), "animation")["met"] is False


def test_memory_goals_name_the_worst_file_and_the_factor():
    goals = speed.compute_goals(_data(kmq_peak_mib=100.0))
    web = _by_where(goals, "768×512")
    # the largest peak over both modes: the fs run's 200 MiB on a.png
    assert web["met"] is False and web["value"] == pytest.approx(200.0) and "a.png, --dither fs" in web["text"]
    big = _by_where(goals, "8181×7221")
    assert big["met"] is True and big["limit"] == pytest.approx(3 * 177.2) and "2.71×" in big["text"]
    data = _data(cli_mb=600.0)
    data["memory"]["cli"] = {"status": "error", "note": "killed"}
    assert _by_where(speed.compute_goals(data), "8181×7221")["met"] is None


def test_app_goals_come_from_the_browser_tests_files():
    text = ("k 16 -> 7 typed into the number box on a 640x480 JPEG: 0.42 s by the test's stopwatch "
            "(Enter to the new image decoded)")
    assert speed.parse_app_timing(text) == pytest.approx(0.42)
    assert speed.parse_app_timing("nothing here") is None
    app = {"folder": "/tmp/x",
           "first-result": {"seconds": 1.9, "text": "first …", "written_utc": "2026-12-07 20:35 UTC"},
           "k-change": {"seconds": 0.42, "text": text, "written_utc": "2026-12-07 20:36 UTC"},
           "12mp": {"seconds": 3.0, "text": "12 MP …", "written_utc": "2026-12-07 20:36 UTC"}}
    goals = speed.compute_goals(_data(app=app))
    assert _by_where(goals, "first result")["met"] is False
    assert _by_where(goals, "k change")["met"] is True
    twelve = _by_where(goals, "12 MP upload")
    assert twelve["value"] == pytest.approx(3.0 / 2.0) and twelve["met"] is True  # this run's CLI: 2.0 s
    # no files: listed, not judged
    empty = speed.compute_goals(_data(app={"folder": "/tmp/none"}))
    assert all(g["met"] is None for g in empty if g["goal"] == "app")
    assert sum(g["goal"] == "app" for g in empty) == 3


def test_report_lists_every_goal_and_table():
    data = _data()
    goals = speed.compute_goals(data)
    md = speed.render(data, goals)
    for g in goals:
        assert g["text"].split(": ", 1)[1] in md
    assert "## Web-sized images" in md and "## 12 MP" in md and "## Animation" in md and "## Start-up" in md
    # the table says which comparison each row is
    assert speed.MODES["plain"] in md and speed.MODES["fs"] in md
    assert "| one process per file (sum of 2) | " + speed.MODES["plain"] + " | 6.00 s (5.00–7.00) | 4.00 s" in md
    assert "measured by tests/test_app_browser.py" in md.lower() or "no timing files" in md
    assert "MISSED" in md and "MET" in md


def test_commands_compare_like_with_like():
    kmq_plain = speed.quantize_argv("kmq", "plain", 64, "in.png", "out.png")
    kmq_fs = speed.quantize_argv("kmq", "fs", 64, "in.png", "out.png")
    pq_plain = speed.quantize_argv("pq3", "plain", 64, "in.png", "out.png", exe="/x/pngquant")
    pq_fs = speed.quantize_argv("pq3", "fs", 64, "in.png", "out.png", exe="/x/pngquant")
    assert "--dither" not in kmq_plain and kmq_fs[-2:] == ["--dither", "fs"]
    assert "--nofs" in pq_plain and "--nofs" not in pq_fs and pq_fs[0] == "/x/pngquant"
    batch = speed.batch_argv("kmq", "plain", 64, ["a.png", "b.png"], "out")
    assert batch[-2:] == ["a.png", "b.png"] and "--out-dir" in batch
    clip = {"apng": "c.apng", "frames": "c", "duration_ms": 100}
    ff = speed.anim_argv("ffmpeg", "fs", 128, clip, "o.gif")
    assert any("max_colors=128" in a and "sierra2_4a" in a for a in ff)
    assert speed.anim_argv("kmq", "none", 128, clip, "o.gif")[-1] == "-q"

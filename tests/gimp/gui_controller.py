# Runs INSIDE the chroot (python3): starts Xvfb and the GIMP 3 GUI with gui_checks.py as
# a batch script, then plays the user with xdotool (real X input events):
# screenshot the plug-in's dialog, Escape (cancel), Return (OK), Ctrl+Z in the image
# window. Writes progress to stderr; exit 0 when the batch script said "done".
import os
import subprocess
import sys
import time

WORK = os.environ["KMQ_WORK"]
OUT = os.environ["KMQ_OUT"]
SCRIPT = os.path.join(WORK, "gui_checks.py")
GIMP_LOG = os.path.join(WORK, "gimp.log")


def gimp_text():
    with open(GIMP_LOG, encoding="utf-8", errors="replace") as f:
        return f.read()


def log(*a):
    print("[controller %.1fs]" % (time.time() - T0), *a, file=sys.stderr, flush=True)


def xdo(*args, check=True):
    p = subprocess.run(["xdotool", *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("xdotool %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout.strip()


def wait_for(pred, what, timeout=90):
    t = time.time()
    while time.time() - t < timeout:
        v = pred()
        if v:
            return v
        if gimp.poll() is not None:
            raise RuntimeError("GIMP exited (%s) while waiting for %s" % (gimp.returncode, what))
        time.sleep(0.3)
    raise RuntimeError("timed out waiting for " + what)


def find_window(name):
    ids = xdo("search", "--onlyvisible", "--name", name, check=False).split()
    return ids[-1] if ids else None


def press(window, keys):
    xdo("windowactivate", "--sync", window, check=False)  # needs a WM; harmless without
    xdo("windowfocus", "--sync", window)
    time.sleep(0.3)
    xdo("key", "--clearmodifiers", keys)
    log("pressed", keys, "in window", window)


def press_until_closed(window, keys, name, tries=5):
    """Press keys in the dialog until it closes (a busy machine may drop the first press)."""
    for _ in range(tries):
        press(window, keys)
        t = time.time()
        while time.time() - t < 8:
            if window not in xdo("search", "--onlyvisible", "--name", name, check=False).split():
                return
            time.sleep(0.3)
    raise RuntimeError("the dialog did not close after %d x %s" % (tries, keys))


T0 = time.time()
# let Xvfb pick a free display number itself (-displayfd), so concurrent runs cannot collide
rfd, wfd = os.pipe()
xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-ac", "-nolisten", "tcp",
                         "-screen", "0", "1280x1024x24"],
                        pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(wfd)
with os.fdopen(rfd) as f:
    number = f.readline().strip()
if not number:
    raise SystemExit("Xvfb did not start")
disp = ":" + number
os.environ["DISPLAY"] = disp
gimp = None
try:
    t = time.time()
    while subprocess.run(["xdotool", "getdisplaygeometry"], capture_output=True).returncode != 0:
        if time.time() - t > 30:
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.2)
    log("Xvfb on", disp)
    # GIMP's (and the plug-in's) messages go to a file the controller reads (the plug-in says
    # "preview shown: k=K" when its preview is on screen); it is copied to stderr at the end
    gimp_log = open(GIMP_LOG, "w")
    gimp = subprocess.Popen(["gimp-3.0", "-n", "-f", "--no-splash", "--batch-interpreter=python-fu-eval",
                             "-b", "-"], stdin=open(SCRIPT), stdout=gimp_log, stderr=gimp_log)
    wait_for(lambda: os.path.exists(os.path.join(OUT, "image-shown")), "the image window")
    log("image shown")

    # 1st dialog: wait for the preview, screenshot; k down by 4 with the keyboard (the dialog
    # opens with the focus in k's field), wait for that preview, screenshot; Escape = Cancel
    dlg = wait_for(lambda: find_window("K-means Quantize"), "the dialog")
    # the pointer away from the dialog: a tooltip (the widget under it) would cover part of it
    xdo("mousemove", "1270", "1015")
    wait_for(lambda: "preview shown: k=16," in gimp_text(), "the preview at k=16", 120)
    time.sleep(1.5)  # let it draw
    subprocess.run(["xwd", "-silent", "-id", dlg, "-out", os.path.join(OUT, "dialog.xwd")], check=True)
    subprocess.run(["xwd", "-silent", "-root", "-out", os.path.join(OUT, "screen.xwd")], check=True)
    log("dialog", dlg, "captured")
    for _ in range(4):
        press(dlg, "Down")
    wait_for(lambda: "preview shown: k=12," in gimp_text(), "the preview at k=12", 120)
    time.sleep(1.5)
    subprocess.run(["xwd", "-silent", "-id", dlg, "-out", os.path.join(OUT, "dialog_k12.xwd")], check=True)
    log("dialog at k=12 captured")
    press_until_closed(dlg, "Escape", "K-means Quantize")

    # 2nd dialog: Return = OK (the default button)
    dlg = wait_for(lambda: find_window("K-means Quantize"), "the second dialog")
    time.sleep(1.5)
    press_until_closed(dlg, "Return", "K-means Quantize")
    wait_for(lambda: os.path.exists(os.path.join(OUT, "ready-for-undo")), "the plug-in to finish", 120)

    # Ctrl+Z in the image window
    win = wait_for(lambda: find_window("GIMP"), "GIMP's image window", 30)
    log("image window", win, repr(xdo("getwindowname", win, check=False)))
    press(win, "ctrl+z")
    time.sleep(1.5)
    open(os.path.join(OUT, "undone"), "w").close()
    wait_for(lambda: os.path.exists(os.path.join(OUT, "done")), "the batch script to finish", 60)
    log("done")
finally:
    if gimp is not None and gimp.poll() is None:
        gimp.terminate()
        try:
            gimp.wait(10)
        except subprocess.TimeoutExpired:
            gimp.kill()
    xvfb.terminate()
    xvfb.wait(10)
    if os.path.exists(GIMP_LOG):
        sys.stderr.write(gimp_text())

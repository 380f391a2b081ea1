#!/usr/bin/python3
"""The desktop app's top-level X11 window, as a window manager sees it, for the end-to-end tests.

    x11win.py state TITLE   prints viewable, unmapped or absent
    x11win.py close TITLE   asks the window to close (WM_DELETE_WINDOW), as a title bar's
                            close button does, so the app sees a real close request

TITLE matches any part of the window's name. Needs Debian's python3-xlib and $DISPLAY.
"""
import sys

from Xlib import X, display, protocol


def windows(d, title):
    found = []
    for w in d.screen().root.query_tree().children:
        try:
            name = w.get_wm_name()
        except Exception:
            continue
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if name and title in name and w.get_wm_protocols() is not None:
            found.append(w)
    return found


def main():
    action, title = sys.argv[1], sys.argv[2]
    d = display.Display()
    found = windows(d, title)
    if action == "state":
        states = [w.get_attributes().map_state for w in found]
        if X.IsViewable in states:
            print("viewable")
        elif states:
            print("unmapped")
        else:
            print("absent")
        return 0
    if action == "close":
        if not found:
            print("absent")
            return 1
        protocols = d.intern_atom("WM_PROTOCOLS")
        delete = d.intern_atom("WM_DELETE_WINDOW")
        for w in found:
            ev = protocol.event.ClientMessage(
                window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
            )
            w.send_event(ev, event_mask=X.NoEventMask)
        d.flush()
        print("sent")
        return 0
    print(f"unknown action {action}", file=sys.stderr)
    return 2


sys.exit(main())

"""`build-aux/dev screenshot`: opens Keel under the virtual display and saves a picture of it."""

import sys

from keel_ui import Keel, find, screenshot

keel = Keel(*sys.argv[1:])
try:
    find(keel.window(), "toggle button", "Main Menu")
    print(f"saved {screenshot('keel')}")
finally:
    keel.close()

import sys
from pathlib import Path

# The helpers sit beside the tests; pytest's rootdir-based import would not find them otherwise.
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402

from keel_ui import Demo  # noqa: E402


@pytest.fixture
def demo():
    demo = Demo()
    yield demo
    demo.stop()



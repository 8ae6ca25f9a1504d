"""notes"""

from __future__ import annotations

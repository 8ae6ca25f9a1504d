from __future__ import annotations

import segno


def qr_data_uri(otpauth_url: str) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI, for an <img> (no script, no CDN)."""
    return segno.make(otpauth_url, error="m").svg_data_uri(scale=4, border=2)

"""Pictures made by hand for the image tests, with nothing but the standard library: PNGs (noise,
gradients, a decompression bomb that only declares its size) and an EXIF block with a GPS position
to put into a JPEG. Other formats come from the shop itself: its served WebP, AVIF and JPEG
variants are real files of those formats to upload again."""
import os
import struct
import zlib

# The GPS position the EXIF block carries: 51 deg 30' 12.34" N, 0 deg 7' 39" W, as TIFF rationals.
GPS_LATITUDE = struct.pack(">6I", 51, 1, 30, 1, 1234, 100)
GPS_LONGITUDE = struct.pack(">6I", 0, 1, 7, 1, 3900, 100)


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, noise=False):
    """An 8-bit RGB PNG: a gradient, or random noise (which does not compress: a large file)."""
    if noise:
        rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    else:
        rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 128))
                                           for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows, 6)) +
            _chunk(b"IEND", b""))


def png_bomb(width=50_000, height=50_000):
    """A few hundred bytes that declare width x height grey pixels (only the first row is there)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1), 9)) +
            _chunk(b"IEND", b""))


def _exif_with_gps():
    """A big-endian TIFF block: IFD0 with a pointer to a GPS IFD holding latitude and longitude."""
    gps_ifd_at = 8 + 2 + 12 + 4
    data_at = gps_ifd_at + 2 + 4 * 12 + 4
    ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8825, 4, 1, gps_ifd_at) + struct.pack(">I", 0)
    gps = struct.pack(">H", 4)
    gps += struct.pack(">HHI4s", 1, 2, 2, b"N\x00\x00\x00")
    gps += struct.pack(">HHII", 2, 5, 3, data_at)
    gps += struct.pack(">HHI4s", 3, 2, 2, b"W\x00\x00\x00")
    gps += struct.pack(">HHII", 4, 5, 3, data_at + 24)
    gps += struct.pack(">I", 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + gps + GPS_LATITUDE + GPS_LONGITUDE
    return b"Exif\x00\x00" + tiff


def with_gps(jpeg):
    """The JPEG with an APP1 EXIF segment carrying a GPS position, right after its SOI marker."""
    assert jpeg[:2] == b"\xff\xd8"
    exif = _exif_with_gps()
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + jpeg[2:]


def multipart(fields, boundary="----emporium-test-boundary"):
    """A multipart/form-data body and its Content-Type from (name, filename or None, type, bytes)."""
    out = b""
    for name, filename, kind, data in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if kind:
            out += f"Content-Type: {kind}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"

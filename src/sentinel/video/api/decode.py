"""The delivered video format: MP4 (ISO BMFF) carrying H.264, decoded offline with PyAV (`av`).

Vendors deliver MP4/H.264 (the format public video APIs return); PyAV's wheel bundles FFmpeg, so
this decodes with nothing but what PyPI installs. `decode_video` is strict, because a vendor's
video is untrusted input and a short clip must not pass as a full one:

  - bytes: the caller has already capped the body (api.max_response_bytes, transport.py); a file
    that is not MP4 (no `ftyp` box) is refused before FFmpeg sees it, and the demuxer is pinned to
    MP4 (no probing, so no HLS/concat playlists that could make FFmpeg open other files);
  - pixels: the stream's width x height must equal the job's, checked from the header before any
    frame is decoded, and every decoded frame is checked again before it is converted; decoding
    stops one frame past the job's count, so a vendor cannot make us decode more than
    (n_frames + 1) x width x height pixels;
  - content: exactly the job's frame count ("truncated video: got N of M frames" when fewer, also
    when the bytes end mid-stream), the job's fps (from the stream's average rate), H.264 only,
    not all black.

`encode_video` writes the format the loopback fake vendor serves: lossless RGB H.264 (libx264rgb,
crf 0, High 4:4:4 Predictive), fragmented MP4 (`frag_keyframe+empty_moov`: the index comes first
and each keyframe starts a fragment, so a cut file still decodes up to the cut and is reported as
truncated rather than undecodable), one thread, so the decoded frames equal the encoded ones bit
for bit and the same frames give the same bytes.
"""
from __future__ import annotations

import io
from fractions import Fraction

import numpy as np

from sentinel.models.outputs import GenerationFailed

VENDOR_CODECS = ("h264",)
FPS_REL_TOL = 1e-3
__all__ = ["decode_video", "encode_video", "VENDOR_CODECS"]


def _rate(fps: float) -> Fraction:
    return Fraction(str(fps)).limit_denominator(1001)


def encode_video(frames: np.ndarray, fps: float) -> bytes:
    """(T, H, W, 3) uint8 RGB -> MP4 bytes, lossless H.264 (deterministic for the same frames and fps)."""
    import av

    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"}) as container:
        stream = container.add_stream("libx264rgb", rate=_rate(fps), options={"crf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        stream.thread_count = 1
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def decode_video(data: bytes, where: str, n_frames: int, width: int, height: int, fps: float) -> np.ndarray:
    """Decode and check vendor MP4 bytes against the job; (T, H, W, 3) uint8 RGB or GenerationFailed."""
    import av

    if len(data) < 8 or data[4:8] != b"ftyp":
        raise GenerationFailed(f"undecodable video from {where}: not an MP4 file (no ftyp box; {len(data)} bytes)")
    frames: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), "r", format="mp4") as container:
            if not container.streams.video:
                raise GenerationFailed(f"undecodable video from {where}: no video stream")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if codec not in VENDOR_CODECS:
                raise GenerationFailed(f"undecodable video from {where}: codec {codec!r} is not {', '.join(VENDOR_CODECS)}")
            if (stream.width, stream.height) != (width, height):
                raise GenerationFailed(f"wrong video size from {where}: {stream.width}x{stream.height}, "
                                       f"the job asked {width}x{height}")
            rate = stream.average_rate or stream.guessed_rate
            if rate is None or abs(float(rate) - fps) > FPS_REL_TOL * fps:
                raise GenerationFailed(f"wrong video fps from {where}: {None if rate is None else float(rate)}, "
                                       f"the job asked {fps}")
            stream.thread_count = 1
            for frame in container.decode(stream):
                if (frame.width, frame.height) != (width, height):
                    raise GenerationFailed(f"wrong video size from {where}: frame {len(frames)} is "
                                           f"{frame.width}x{frame.height}, the job asked {width}x{height}")
                if len(frames) == n_frames:
                    raise GenerationFailed(f"too many frames from {where}: more than the job's {n_frames}")
                frames.append(frame.to_ndarray(format="rgb24"))
    except GenerationFailed:
        raise
    except (av.FFmpegError, EOFError, ValueError, OSError) as e:  # corrupt or cut mid-stream
        if not frames:
            raise GenerationFailed(f"undecodable video from {where}: {type(e).__name__}: {e}") from None
    if len(frames) < n_frames:
        raise GenerationFailed(f"truncated video from {where}: got {len(frames)} of {n_frames} frames")
    clip = np.ascontiguousarray(np.stack(frames), dtype=np.uint8)
    if clip.max() == 0:
        raise GenerationFailed(f"invalid video from {where}: all black (safety filter)")
    return clip

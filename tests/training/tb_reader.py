"""Minimal tfevents reader for the tests (TFRecord framing + tensorboardX's Event proto), so the
check needs neither TensorFlow nor TensorBoard."""
import glob
import os
import struct

from tensorboardX.proto import event_pb2


def read_events(logdir):
    """-> list of (step, tag, kind, value): kind 'scalar' (float) or 'image' (encoded PNG bytes)."""
    out = []
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            record = data[pos + 12:pos + 12 + length]  # skip length + its crc
            pos += 12 + length + 4  # + data crc
            event = event_pb2.Event.FromString(record)
            for v in event.summary.value:
                if v.HasField("image"):
                    out.append((event.step, v.tag, "image", v.image.encoded_image_string))
                elif v.HasField("simple_value") or v.WhichOneof("value") == "simple_value":
                    out.append((event.step, v.tag, "scalar", v.simple_value))
    return out

"""Receive handstream's live results: `handstream run --stream 127.0.0.1:9000`, then `python docs/stream_client.py`.

One UDP datagram per frame, the JSON of one `handstream run --out` line (engine/SESSION_FORMAT.md): frame_index,
timestamp, and per hand track_id, handedness, confidence, box, joints_2d (21 x 2 px), joints_3d (21 x 3 camera
mm), theta, beta, camera (and vertices with --vertices).
"""
import json
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", port))
while True:
    frame = json.loads(sock.recv(65536))
    for hand in frame["hands"]:
        tip = hand["joints_3d"][8]  # index fingertip
        print(f"frame {frame['frame_index']}: hand {hand['track_id']} ({hand['handedness']}) index tip at "
              f"{tip[0]:.0f}, {tip[1]:.0f}, {tip[2]:.0f} mm", flush=True)

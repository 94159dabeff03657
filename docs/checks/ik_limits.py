"""How real labels become poses: the IK fitted freely against within the anatomical limits (hand model 1.3's change).

    python docs/checks/ik_limits.py [--every 8] [--out docs/hand_model/ik_free_vs_limits.png]

Why: NYU labels fix only each finger's PIP and tip, ICVL's its MCP, PIP and DIP. A free axis-angle fit poses the
joints between them any way that puts the tips right. Printed, for both fits of every `--every`-th NYU and ICVL
test label (`../shared/data/a2j`): the IK residual, and the share of poses with some joint more than 10° beyond the
prior's limits (`models.pose_prior.joint_limits`), the slack the fit within the limits may use. Drawn: six ICVL
labels, the free fit above, the fit within the limits below (the shipped hand model, seen from the back).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

A2J = Path(__file__).resolve().parents[3] / "shared" / "data" / "a2j"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=8, help="every N-th test label (default 8)")
    parser.add_argument("--out", type=Path, default=Path("docs/hand_model/ik_free_vs_limits.png"))
    args = parser.parse_args(argv)
    from models.hand.model import load_hand_model
    from models.hand.render import render_grid
    from models.pose_prior import beyond_limits
    from models.synth.ik import IKOptions, fit_joints
    from models.synth.pose_bank import read_label_joints

    model = load_hand_model()
    drawn = []
    for fmt in ("nyu", "icvl"):
        joints_mm, joint_map = read_label_joints(fmt, A2J / f"{fmt}_keypointsUVD_test.mat", every=args.every)
        for anatomical in (False, True):
            fit = fit_joints(joints_mm / 1000.0, joint_map, model=model, options=IKOptions(anatomical=anatomical))
            beyond = np.rad2deg(beyond_limits(fit.theta))
            print(f"{fmt} ({len(beyond)} labels), {'within the limits' if anatomical else 'free'}: residual "
                  f"{fit.error_mm.mean():.2f} mm mean; poses with a joint > 10° beyond the limits "
                  f"{100 * np.mean(beyond > 10.01):.0f} %, largest {beyond.max():.0f}°")
            if fmt == "icvl":
                drawn.append(fit.theta[np.linspace(0, len(fit.theta) - 1, 6).round().astype(int)])
    meshes = [(v, model.faces) for v in model.forward(np.concatenate(drawn).astype(np.float64)).vertices]
    scale = 0.85 * float(np.linalg.norm(np.ptp(model.forward(np.zeros(45)).vertices[0], axis=0)))
    print(render_grid(meshes, args.out, "back", columns=6, scale_of=scale))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

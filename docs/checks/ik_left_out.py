"""How well the IK reads real labels, judged by the labels themselves: each label left out of the fit in turn.

    python docs/checks/ik_left_out.py [--data nyu|icvl] [--every 8] [--split even|odd] [--contact-weight W]

Why: a correspondence (which of our joints a dataset's label is) or a term of the fit cannot be judged by the fit's
residual, which only says how well the hand meets the labels it is given. Left out, a label is predicted by the
others through the hand, so the reading that predicts left-out labels better is the truer one (the evidence for
NYU's palm tie, ICVL's mirrored, one-joint-in reading and the contact term; weights/HAND_MODEL.md). Printed: the
fit's residual, and per label the median distance (mm) from it to where the fit without it puts its joint.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

A2J = Path(__file__).resolve().parents[3] / "shared" / "data" / "a2j"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("nyu", "icvl"), default="nyu")
    parser.add_argument("--every", type=int, default=8, help="every N-th test label (default 8)")
    parser.add_argument("--split", choices=("even", "odd"), default="even", help="which half of those (default even)")
    parser.add_argument("--contact-weight", type=float, default=None, help="the IK's (default: IKOptions')")
    args = parser.parse_args(argv)
    import torch

    from models.hand.model import load_hand_model
    from models.synth.ik import IKOptions, JointChain, JointMap, fit_joints
    from models.synth.pose_bank import read_label_joints

    torch.set_num_threads(1)
    model = load_hand_model()
    chain = JointChain(model)
    options = IKOptions() if args.contact_weight is None else IKOptions(contact_weight=args.contact_weight)
    joints_mm, jm = read_label_joints(args.data, A2J / f"{args.data}_keypointsUVD_test.mat", every=args.every)
    labels = joints_mm[(0 if args.split == "even" else 1)::2] / 1000.0
    seen = jm.fit_frame(labels)  # where the fitted hands are posed
    print(f"{args.data}, {len(labels)} {args.split} entries of every {args.every}th label, contact weight "
          f"{options.contact_weight:g}: residual {np.median(fit_joints(labels, jm, model, options).error_mm):.2f} mm")
    for row in range(len(jm.annotation_weights)):
        label = int(np.flatnonzero(jm.annotation_weights[row])[0])
        if jm.annotation_weights[row, label] != 1.0:
            continue  # a blend of labels (NYU's wrist): not one label to leave out
        keep = [r for r in range(len(jm.annotation_weights)) if r != row]
        without = JointMap(f"{jm.name}-without-{label}", jm.num_joints, jm.annotation_weights[keep],
                           jm.model_weights[keep], jm.mirrored)
        fit = fit_joints(labels, without, model, options)
        with torch.no_grad():
            posed = chain(*(torch.tensor(a) for a in (fit.theta, fit.betas, fit.global_orient))).numpy()
        predicted = np.einsum("k,nkd->nd", jm.model_weights[row], posed + fit.transl[:, None])
        miss = np.linalg.norm(predicted - seen[:, label], axis=1) * 1000.0
        print(f"  label {label:2d} left out: {np.median(miss):6.2f} mm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The hand model: our open model in the MANO file format (or the licensed MANO), posed in numpy and torch.

``model`` (load and pose, numpy), ``layer`` (the same through smplx, differentiable), ``file`` (the MANO-format
file), ``skeleton`` and ``rig`` (joints, axes, skinning), ``surface`` and ``builder`` (how the open model is
made), ``poses`` (named poses), ``render`` (pictures of it), ``mano_convert`` (MANO's pickles without chumpy).
"""

"""Folding: the plan and its application (DESIGN §3.4–3.5).

``driver.analyze`` returns the plan of any mode (``plan.Analysis``: one
verdict per BN and the fold steps): ``fixpoint`` repeats decide → apply to a
fixed point, ``reparam`` interleaves it with branch merges;
``driver.compare_modes`` runs several modes. ``rules`` holds each fold formula as
a pure numpy function, ``apply`` applies a step to the IR (a new graph), and
``pipeline.fold`` writes the plan back through the model's frontend and
verifies it. No frontend is imported here.
"""

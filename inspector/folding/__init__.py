"""Folding: the plan and its application (DESIGN §3.4–3.5).

``driver.analyze`` repeats decide → apply to a fixed point and returns the
plan (``plan.Analysis``: one verdict per BN and the fold steps);
``driver.compare_modes`` runs both modes. ``rules`` holds each fold formula as
a pure numpy function, ``apply`` applies a step to the IR (a new graph), and
``pipeline.fold`` writes the plan back through the model's frontend and
verifies it. No frontend is imported here.
"""

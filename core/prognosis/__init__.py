"""Prognosis: survival curves from clinical data, stroke risk, heartbeat-sequence classes.

``datasets`` reads the shared CSV/UCR files and the survival sets bundled with
scikit-survival; ``tabular`` turns validated clinical rows into model features;
``survival``, ``risk`` and ``sequence`` hold the models' recipes, metrics and the
prediction helpers the page and the command line call.
"""

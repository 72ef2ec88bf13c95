"""Nuclear-physics lab: the AME mass tables, a model of them, and the physics read out of it.

A thin user-facing namespace over the layers: ``data`` (tasks layer), ``model`` (models layer),
``analysis`` (analysis layer) and ``study`` (studies layer); import the one you need::

    from algolens.nuclear import data, study
    from algolens.store import RunStore
    from algolens.studies.registry import run_point
    table = data.load(2020)                    # one row per nuclide, 3558 rows
    cfg = study.STUDY.make_config("accuracy", steps=400)
    run, result = run_point(study.STUDY, cfg, 0, RunStore("runs"))   # seed 0: the split
    rows = study.predict(run)                  # every nuclide: prediction, in-training flag
    result.embedding_Z.parity_accuracy         # helix, parity, PCs vs SEMF terms, formulas
"""

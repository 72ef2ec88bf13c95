"""Nuclear-physics lab: the AME mass tables, a model of them, and the physics read out of it.

A thin user-facing namespace over the layers: ``data`` (tasks layer), ``model`` (models layer),
``analysis`` (analysis layer) and ``study`` (studies layer); import the one you need::

    from algolens.nuclear import data, model, analysis, study
    table = data.load(2020)                    # one row per nuclide, 3558 rows
    run_dir = study.train_run(model.NuclearTrainConfig(), split_seed=0)
    rows = study.predict(run_dir)              # every nuclide: prediction, in-training flag
    study.analyze(run_dir)                     # helix, parity, PCs vs SEMF terms, formulas, plots
"""

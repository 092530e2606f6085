"""The Spark engine (``--engine spark``, the ``graphlink[spark]`` extra).

The same analysis as the embedded engine, its stages run on Spark DataFrames
(issue 16). This first slice runs on Spark the loading of the standard
layout (CSV or Parquet at any path Spark reads), its validation and the
normalisation of every identifying value (the normalisers of
:mod:`graphlink.normalise`, in vectorised pandas UDFs); the hand-over point is
:func:`graphlink.spark.engine.prepare`: the canonical dataset and the
canonical form of every distinct raw value are collected to the driver, where
the embedded stages from :func:`graphlink.linkage.identifiers.extract` on run
unchanged, except blocking and value comparison
(:func:`graphlink.spark.blocking.find_links`: joins on Spark, the same links),
pair evidence and comparison vectors (:mod:`graphlink.spark.evidence`).

Modules: ``session`` (the SparkSession: master, conf, checkpoint folder),
``load`` (reading and validation), ``identifiers`` (normalisation),
``blocking`` (blocking and value comparison), ``evidence`` (pair evidence,
comparison vectors), ``engine`` (the stages joined).
PySpark is imported only when one runs.
"""

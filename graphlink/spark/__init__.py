"""The Spark engine (``--engine spark``, the ``graphlink[spark]`` extra).

The same analysis as the embedded engine, its stages run on Spark DataFrames
(issue 16): the loading of the standard layout (CSV or Parquet at any path
Spark reads) and its validation; the hand-over
(:func:`graphlink.spark.engine.prepare`) collects the canonical tables the
driver's stages read, all but devices and payments (collected only when a saved
state reads them), and passes on the validated tables on Spark, where
:mod:`graphlink.spark.extract` builds the identifier uses and values (the
normalisers of :mod:`graphlink.normalise` in vectorised pandas UDFs) and the
entity labels; then blocking and value comparison
(:func:`graphlink.spark.blocking.find_links`: joins on Spark, the same links),
pair evidence and comparison vectors (:mod:`graphlink.spark.evidence`), the
second look, the match model's counts and scoring, the operators' components, the
factory leads' sites (:mod:`graphlink.spark.factories`).
Spark writes the identifiers, the evidence, the pairs and the links; the
``Analysis`` reads them when a report asks (:mod:`graphlink.spark.analysis`).

Modules: ``session`` (the SparkSession: master, conf, checkpoint folder),
``load`` (reading and validation), ``identifiers`` (normalisation),
``extract`` (identifier uses, values, entity labels), ``blocking`` (blocking
and value comparison), ``evidence`` (pair evidence, comparison vectors),
``recompare`` (the second look), ``model`` (the match model), ``resolve``
(operators), ``detect`` (communities), ``factories`` (the factory leads' sites),
``scoring`` (the banned shops' neighbourhood for sign-ups), ``analysis`` (the
``Analysis`` of a run), ``engine`` (the stages joined).
PySpark is imported only when one runs.
"""

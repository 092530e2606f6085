"""Linkage: canonical tables -> identifiers -> candidate pairs -> match model -> operators.

- :mod:`~graphlink.linkage.identifiers`: who uses which identifier, when (hashing, masking);
- :mod:`~graphlink.linkage.compare`: pairwise similarity rules, one per identifier kind;
- :mod:`~graphlink.linkage.link`: blocking and fuzzy comparison, shop-pair evidence;
- :mod:`~graphlink.linkage.model`: comparison levels, parameters learned, one probability per pair;
- :mod:`~graphlink.linkage.learn`: the model corrected by analysts' verdicts;
- :mod:`~graphlink.linkage.recompare`: the second look at pairs blocking cannot key;
- :mod:`~graphlink.linkage.resolve`: operators, the shops run by one real-world actor;
- :mod:`~graphlink.linkage.graph`: the identity graph (networkx) of shops, accounts, identifiers;
- :mod:`~graphlink.linkage.pseudonymise`: identifiers as keyed hashes.
"""

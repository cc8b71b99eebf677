"""Hot spots of need: local Moran's I (esda) on the score, with contiguity weights (libpysal).

Contiguity ("queen": a shared edge or corner) is built once from the display outlines of the
store (``communes_moyen``, a cleaned coverage whose shared edges are exact) and cached in the
store as an edge list ``communes_contiguite`` (``code``, ``neighbour``) with its manifest; it is
rebuilt only when the outlines change (sha256 of the outline file).

Local Moran's I uses row-standardised weights, conditional permutations with a fixed seed, and
a Benjamini–Hochberg false-discovery-rate correction of the permutation p-values (the usual
5 % threshold on 35,000 raw p-values would flag ~1,750 communes by chance alone); with that
correction the number of permutations matters: the smallest p-value is ``1 / (permutations +
1)``, so use at least 999 over all France. Classes:
HH (high need among high need), LL, HL (high need isolated among low), LH, and "ns" (not
significant, or no neighbour: islands, communes without an outline).

The statistic, its quadrants and its moments come from esda; the conditional randomisation is
:func:`conditional_p_values`, a vectorised copy of esda's algorithm (same permuted ids for the
same seed, same folded "directed" p-value): without numba, esda runs it as a Python loop over
the 35,000 communes (5 s of the 8 s the hot spots took); numpy does it per block of communes
of equal cardinality.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from libpysal.graph import Graph
from scipy.stats import false_discovery_control

from catalogues import datasets
from geodata.codes import is_among
from geodata.store import Manifest, Store, sha256_of_files

CONTIGUITY_DATASET = datasets.CONTIGUITY
OUTLINES_DATASET = "communes_moyen"
CONTIGUITY_BUILDER = "1"
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
NOT_SIGNIFICANT = "ns"


def build_contiguity(outlines) -> pd.DataFrame:
    """Queen contiguity edge list (``code``, ``neighbour``, both directions) from outlines."""
    frame = outlines[outlines.geometry.notna() & ~outlines.geometry.is_empty]
    graph = Graph.build_contiguity(frame.set_index("code")[["geometry"]], rook=False)
    adj = graph.adjacency.reset_index()
    adj.columns = ["code", "neighbour", "weight"]
    adj = adj[(adj["weight"] > 0) & (adj["code"] != adj["neighbour"])]
    return adj[["code", "neighbour"]].reset_index(drop=True)


def contiguity(store: Store | None = None, force: bool = False) -> pd.DataFrame:
    """The cached edge list, built from the store's outlines when missing or stale."""
    store = store or Store()
    sha = sha256_of_files([store.path(OUTLINES_DATASET)])
    if not force and store.is_fresh(CONTIGUITY_DATASET, sha, CONTIGUITY_BUILDER):
        return store.read(CONTIGUITY_DATASET)
    outlines = store.read(OUTLINES_DATASET)
    edges = build_contiguity(outlines)
    source = store.manifest(OUTLINES_DATASET)
    store.write(
        CONTIGUITY_DATASET,
        edges,
        Manifest(
            dataset=CONTIGUITY_DATASET,
            source=f"Contiguïté (reine) calculée sur {OUTLINES_DATASET}"
            + (f" ({source.source})" if source else ""),
            producer="calcul du projet (libpysal)",
            vintage=source.vintage if source else "",
            input_sha256=sha,
            builder_version=CONTIGUITY_BUILDER,
            extra={"critère": "reine (sommet ou arête commun)", "communes": len(outlines)},
        ),
    )
    return edges


def graph_for(codes: pd.Index, edges: pd.DataFrame) -> Graph:
    """Row-standardised graph over ``codes`` (edges to other communes dropped).

    Communes without a neighbour are kept as isolates (libpysal's self-loop of weight 0).
    Values must be aligned on ``graph.unique_ids``.
    """
    inside = edges[is_among(edges["code"], codes) & is_among(edges["neighbour"], codes)]
    isolates = codes.difference(pd.Index(inside["code"].unique()))
    focal = np.concatenate([inside["code"].to_numpy(), isolates.to_numpy()])
    neighbour = np.concatenate([inside["neighbour"].to_numpy(), isolates.to_numpy()])
    weight = np.concatenate([np.ones(len(inside)), np.zeros(len(isolates))])
    return Graph.from_arrays(focal, neighbour, weight).transform("r")


def permuted_ids(n: int, max_cardinality: int, permutations: int, seed: int) -> np.ndarray:
    """Random neighbour sets drawn as esda draws them (``crand.vec_permutations``).

    Row ``p`` holds ``max_cardinality`` distinct positions among the ``n - 1`` *other*
    observations; observation ``i`` uses the first ``k_i`` of each row, shifted past itself.
    The legacy ``RandomState`` stream is esda's (``np.random.seed`` then ``choice``), so the
    same seed gives the same draws, without touching numpy's global state.
    """
    rng = np.random.RandomState(seed)
    ids = np.empty((permutations, max_cardinality), dtype=np.int64)
    for p in range(permutations):
        ids[p] = rng.choice(n - 1, size=max_cardinality, replace=False)
    return ids


def conditional_p_values(
    z: np.ndarray,
    weights,
    observed: np.ndarray,
    *,
    permutations: int,
    seed: int,
    block: int = 256,
) -> np.ndarray:
    """Pseudo p-values of local Moran's I under conditional randomisation.

    Parameters
    ----------
    z
        Standardised values (esda's ``Moran_Local.z``).
    weights
        Sparse weights (CSR-convertible, esda's ``Moran_Local.w.sparse``), rows aligned on ``z``.
    observed
        The observed local statistics (``Moran_Local.Is``).

    Returns
    -------
    numpy.ndarray
        esda's folded ("directed") p-value ``(min(larger, P - larger) + 1) / (P + 1)``, where
        ``larger`` counts simulated statistics ≥ the observed one. Observations without a
        neighbour get NaN (esda gives them a meaningless 1 / (P + 1)).
    """
    from scipy import sparse

    matrix = sparse.csr_matrix(weights, dtype=float, copy=True)
    self_weight = matrix.diagonal()
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    n = len(z)
    scaling = (n - 1) / float((z * z).sum())
    cardinality = np.diff(matrix.indptr)
    p_values = np.full(n, np.nan)
    if n < 2 or cardinality.max(initial=0) == 0:
        return p_values
    ids = permuted_ids(n, int(cardinality.max()), permutations, seed)
    larger = np.zeros(n, dtype=np.int64)
    for k in np.unique(cardinality[cardinality > 0]):
        drawn = ids[:, :k]
        # Position j among the others is observation j, or j + 1 from i on (i itself skipped):
        # both values gathered once, chosen per observation.
        before, after = z[drawn], z[drawn + 1]
        rows = np.flatnonzero(cardinality == k)
        for start in range(0, len(rows), block):
            chunk = rows[start:start + block]
            w = matrix.data[matrix.indptr[chunk][:, None] + np.arange(k)]  # chunk × k
            drawn_z = np.where(drawn[None, :, :] >= chunk[:, None, None], after, before)
            lag = np.einsum("cpk,ck->cp", drawn_z, w) + (self_weight[chunk] * z[chunk])[:, None]
            simulated = z[chunk][:, None] * lag * scaling
            larger[chunk] = (simulated >= observed[chunk][:, None]).sum(axis=1)
    folded = np.minimum(larger, permutations - larger)
    linked = cardinality > 0
    p_values[linked] = (folded[linked] + 1.0) / (permutations + 1.0)
    return p_values


@dataclass
class Hotspots:
    frame: pd.DataFrame  # index code: local_i, p_value, q_value, hotspot
    params: dict = field(default_factory=dict)


def local_moran(
    values: pd.Series,
    edges: pd.DataFrame,
    *,
    permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
) -> Hotspots:
    """Local Moran's I of ``values`` (index = code; NaN rows are left out, class "ns")."""
    import esda  # heavy import, only when hot spots are asked for

    base_params = {
        "méthode": "I de Moran local (esda), poids de contiguïté reine standardisés en ligne",
        "permutations": permutations,
        "graine": seed,
        "correction": "taux de fausses découvertes (Benjamini–Hochberg)",
        "seuil": alpha,
    }
    present = values.dropna().index
    linked = is_among(edges["code"], present) & is_among(edges["neighbour"], present)
    if len(present) < 3 or not linked.any():
        frame = pd.DataFrame(
            {"local_moran_i": np.nan, "p_value": np.nan, "q_value": np.nan,
             "hotspot": NOT_SIGNIFICANT},
            index=values.index,
        )
        return Hotspots(frame, {**base_params, "communes": len(present),
                                "note": "trop peu de communes voisines avec un score"})
    graph = graph_for(present, edges)
    known = values.reindex(graph.unique_ids)
    isolated = graph.cardinalities.reindex(known.index).fillna(0).to_numpy() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moran = esda.Moran_Local(known.to_numpy(dtype=float), graph, permutations=0)
    p = conditional_p_values(
        moran.z, moran.w.sparse, np.asarray(moran.Is, dtype=float),
        permutations=permutations, seed=seed,
    )
    p = np.where(isolated | np.isnan(p), 1.0, p)
    q = false_discovery_control(p, method="bh")
    significant = (q <= alpha) & ~isolated
    classes = np.where(significant, pd.Series(moran.q).map(QUADRANTS).to_numpy(), NOT_SIGNIFICANT)
    frame = pd.DataFrame(
        {
            "local_moran_i": np.where(isolated, np.nan, moran.Is),
            "p_value": np.where(isolated, np.nan, p),
            "q_value": np.where(isolated, np.nan, q),
            "hotspot": classes,
        },
        index=known.index,
    ).reindex(values.index)
    frame["hotspot"] = frame["hotspot"].fillna(NOT_SIGNIFICANT)
    params = {
        "méthode": "I de Moran local (esda), poids de contiguïté reine standardisés en ligne",
        "permutations": permutations,
        "graine": seed,
        "correction": "taux de fausses découvertes (Benjamini–Hochberg)",
        "seuil": alpha,
        "communes": len(known),
        "sans_voisin": int(isolated.sum()),
        "classes": {c: int((frame["hotspot"] == c).sum()) for c in ["HH", "LL", "HL", "LH", "ns"]},
    }
    return Hotspots(frame, params)

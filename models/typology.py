"""Typology of communes by need profile (k-means), with k chosen by silhouette and stability.

The profile of a commune is its vector of standardised indicators (z-scores, missing = national
mean, i.e. 0). For each candidate k, on a seeded sample of communes:

* *silhouette*: mean silhouette width (cohesion vs separation);
* *stability*: mean adjusted Rand index between the partition of the sample and partitions
  fitted on random half-samples, applied back to the sample (Hennig 2007, Lange et al. 2004).

The chosen k maximises the silhouette among the stable ones (stability ≥ ``min_stability``);
if none is stable, the product silhouette × stability. The final model is fitted on the sample
and assigns every commune to its nearest centroid. Each cluster is then named from its centroid:
its two or three most marked traits (largest |z|) in plain French, e.g. "rural, vieillissant,
avec vacance".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from threadpoolctl import threadpool_limits

# Plain-French traits per indicator id: (when high, when low). Indicators not listed are named
# from their catalogue label.
TRAITS: dict[str, tuple[str, str]] = {
    "poverty_rate": ("pauvre", "peu de pauvreté"),
    "poor_households": ("beaucoup de ménages pauvres", "peu de ménages pauvres"),
    "median_income": ("aux revenus élevés", "aux revenus modestes"),
    "d1_income": ("aux bas revenus moins faibles", "aux très bas revenus"),
    "median_income_change": ("aux revenus en hausse", "aux revenus en recul relatif"),
    "vacancy_rate": ("avec vacance", "sans vacance"),
    "second_home_share": ("touristique", "peu de résidences secondaires"),
    "share_65_plus": ("vieillissant", "jeune"),
    "unemployment_rate": ("au chômage élevé", "au chômage faible"),
    "rurality": ("rural", "urbain"),
    "density_7": ("rural", "urbain"),
    "qpv_presence": ("avec quartiers prioritaires", "sans quartier prioritaire"),
    "market_tension": ("marché tendu", "marché détendu"),
    "zone_tendue": ("en zone tendue", "hors zone tendue"),
    "sru_gap_points": ("en déficit de logement social", "sans déficit SRU"),
    "copro_share_before_1975": ("copropriétés anciennes", "copropriétés récentes"),
    "copro_share_qpv": ("copropriétés en QPV", "peu de copropriétés en QPV"),
    "copro_share_aided": ("copropriétés aidées", "peu de copropriétés aidées"),
}
# Traits that describe the setting: put first in a name ("rural vieillissant", not the reverse).
SETTING = ("rurality", "density_7")


@dataclass
class Typology:
    labels: pd.Series  # cluster number per commune (index = code), -1 when unassigned
    names: dict[int, str]
    centroids: pd.DataFrame  # z-scores, one row per cluster
    k: int
    diagnostics: pd.DataFrame  # per k: silhouette, stability
    params: dict = field(default_factory=dict)


def standardise(frame: pd.DataFrame) -> pd.DataFrame:
    """Z-scores per column; missing → 0 (the mean); constant columns → 0."""
    sd = frame.std(ddof=0).replace(0, np.nan)
    return ((frame - frame.mean()) / sd).fillna(0.0)


def _name(centroid: pd.Series, labels: dict[str, str], threshold: float, max_traits: int) -> str:
    marked = centroid[centroid.abs() >= threshold]
    marked = marked.reindex(marked.abs().sort_values(ascending=False).index)
    words: list[str] = []
    setting: list[str] = []
    seen: set[str] = set()
    for indicator, z in marked.items():
        high, low = TRAITS.get(
            indicator,
            (f"{labels.get(indicator, indicator)} élevé", f"{labels.get(indicator, indicator)} faible"),
        )
        word = high if z > 0 else low
        if word in seen:
            continue
        seen.add(word)
        (setting if indicator in SETTING else words).append(word)
        if len(setting) + len(words) >= max_traits:
            break
    if not setting and not words:
        return "profil proche de la moyenne"
    return ", ".join(setting + words)


def name_clusters(
    centroids: pd.DataFrame,
    labels: dict[str, str] | None = None,
    threshold: float = 0.4,
    max_traits: int = 3,
) -> dict[int, str]:
    """French names from centroids (z-scores); duplicates get a number."""
    names: dict[int, str] = {}
    counts: dict[str, int] = {}
    for cluster, centroid in centroids.iterrows():
        name = _name(centroid, labels or {}, threshold, max_traits)
        counts[name] = counts.get(name, 0) + 1
        names[int(cluster)] = name if counts[name] == 1 else f"{name} ({counts[name]})"
    return names


def _kmeans(k: int, seed: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=3, random_state=seed)


def build_typology(
    profile: pd.DataFrame,
    labels: dict[str, str] | None = None,
    *,
    k_range: tuple[int, int] = (3, 8),
    sample_size: int = 4000,
    resamples: int = 4,
    min_stability: float = 0.75,
    seed: int = 0,
) -> Typology:
    """Cluster the rows of ``profile`` (communes × indicators, raw values); see module doc."""
    z = standardise(profile)
    rng = np.random.default_rng(seed)
    n = len(z)
    sample = np.sort(rng.choice(n, size=min(sample_size, n), replace=False))
    xs = z.to_numpy()[sample]
    rows = []
    models: dict[int, KMeans] = {}
    with threadpool_limits(limits=1):
        # The sample's distances, computed once for the silhouettes of every k (they were
        # computed again for each k: 1.2 of the 2.2 s of the typology over all France).
        distances = pairwise_distances(xs)
        for k in range(k_range[0], k_range[1] + 1):
            if k >= len(xs):
                break
            model = _kmeans(k, seed).fit(xs)
            models[k] = model
            sil = float(silhouette_score(distances, model.labels_, metric="precomputed"))
            aris = []
            for r in range(resamples):
                half = rng.choice(len(xs), size=len(xs) // 2, replace=False)
                sub = _kmeans(k, seed + r + 1).fit(xs[half])
                aris.append(adjusted_rand_score(model.labels_, sub.predict(xs)))
            rows.append({"k": k, "silhouette": sil, "stabilité": float(np.mean(aris))})
        diagnostics = pd.DataFrame(rows)
        stable = diagnostics[diagnostics["stabilité"] >= min_stability]
        if len(stable):
            k = int(stable.loc[stable["silhouette"].idxmax(), "k"])
            rule = "silhouette maximale parmi les k stables"
        else:
            score = diagnostics["silhouette"] * diagnostics["stabilité"]
            k = int(diagnostics.loc[score.idxmax(), "k"])
            rule = "aucun k stable : produit silhouette × stabilité maximal"
        final = models[k]
        assigned = final.predict(z.to_numpy())
    centroids = pd.DataFrame(final.cluster_centers_, columns=z.columns)
    # Re-number clusters by size (0 = largest) so that numbers are stable across runs.
    order = pd.Series(assigned).value_counts().index.tolist()
    order += [c for c in range(k) if c not in order]
    remap = {old: new for new, old in enumerate(order)}
    assigned = np.vectorize(remap.get)(assigned)
    centroids = centroids.rename(index=remap).sort_index()
    names = name_clusters(centroids, labels)
    params = {
        "méthode": "k-moyennes (scikit-learn KMeans, n_init=3)",
        "indicateurs": list(z.columns),
        "k_testés": [int(v) for v in diagnostics["k"]],
        "k_retenu": k,
        "règle": rule,
        "stabilité_min": min_stability,
        "échantillon": len(xs),
        "rééchantillonnages": resamples,
        "graine": seed,
        "diagnostics": diagnostics.round(4).to_dict("records"),
    }
    return Typology(
        labels=pd.Series(assigned, index=profile.index, name="cluster"),
        names=names,
        centroids=centroids,
        k=k,
        diagnostics=diagnostics,
        params=params,
    )

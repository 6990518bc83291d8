"""Baselines and measures for bench/matching_quality.py (benchmark only, not part of the node).

Two independent text baselines over the same texts the matcher sees (each
publisher's titles and descriptions joined into one document): a plain TF-IDF
cosine (scikit-learn's `TfidfVectorizer` with its defaults) and BM25 (bm25s,
Lucene variant, German stop words), the asker's document as the query. The
measures: NDCG@10 with graded gains, precision@5 and MRR against the true top
five, the hub share (how many top-10 lists the most frequent peer is in), and
a paired bootstrap of the NDCG@10 difference between two rankings.
"""

from __future__ import annotations

import math
import random
from collections import Counter

Rankings = dict[str, list[str]]
Truth = dict[str, dict[str, float]]


def tfidf_rankings(docs: dict[str, str], first: int) -> Rankings:
    from sklearn.feature_extraction.text import TfidfVectorizer

    names = list(docs)
    matrix = TfidfVectorizer().fit_transform([docs[n] for n in names])  # rows are L2-normalised
    similarity = (matrix @ matrix.T).toarray()
    out: Rankings = {}
    for i, q in enumerate(names):
        order = sorted((j for j in range(len(names)) if j != i), key=lambda j: (-similarity[i, j], names[j]))
        out[q] = [names[j] for j in order[:first]]
    return out


def bm25_rankings(docs: dict[str, str], first: int) -> Rankings:
    import bm25s

    names = list(docs)
    tokens = bm25s.tokenize([docs[n] for n in names], stopwords="de", return_ids=False, show_progress=False)
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    out: Rankings = {}
    for i, q in enumerate(names):
        scores = model.get_scores(tokens[i])
        order = sorted((j for j in range(len(names)) if j != i), key=lambda j: (-float(scores[j]), names[j]))
        out[q] = [names[j] for j in order[:first]]
    return out


def cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    na, nb = math.sqrt(sum(v * v for v in a.values())), math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def ndcg(ranking: list[str], gains: dict[str, float], k: int = 10) -> float:
    dcg = sum(gains.get(x, 0.0) / math.log2(i + 2) for i, x in enumerate(ranking[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def true_top(gains: dict[str, float], k: int = 5) -> set[str]:
    return {x for x in sorted(gains, key=lambda x: (-gains[x], x))[:k] if gains[x] > 0}


def precision(ranking: list[str], gains: dict[str, float], k: int = 5) -> float:
    return len(true_top(gains, k) & set(ranking[:k])) / k


def reciprocal_rank(ranking: list[str], gains: dict[str, float]) -> float:
    truth = true_top(gains)
    return next((1.0 / (i + 1) for i, x in enumerate(ranking) if x in truth), 0.0)


def per_query(rankings: Rankings, truth: Truth) -> dict[str, float]:
    """NDCG@10 of each query that has a relevant peer at all."""
    return {q: ndcg(rankings[q], truth[q]) for q in truth if any(truth[q].values())}


def evaluate(rankings: Rankings, truth: Truth) -> dict[str, float]:
    queries = [q for q in truth if any(truth[q].values())]
    n = len(queries)
    return {
        "ndcg@10": round(sum(ndcg(rankings[q], truth[q]) for q in queries) / n, 4),
        "precision@5": round(sum(precision(rankings[q], truth[q]) for q in queries) / n, 4),
        "mrr": round(sum(reciprocal_rank(rankings[q], truth[q]) for q in queries) / n, 4),
    }


def hub_share(rankings: Rankings, k: int = 10) -> dict[str, object]:
    """The share of top-k lists in which the most frequent peer appears."""
    counts = Counter(x for ranking in rankings.values() for x in ranking[:k])
    peer, times = counts.most_common(1)[0]
    return {"share": round(times / len(rankings), 4), "peer": peer}


def random_baseline(truth: Truth, names: list[str], rounds: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    samples = [evaluate({q: rng.sample([o for o in names if o != q], len(names) - 1) for q in truth}, truth)
               for _ in range(rounds)]
    return {k: round(sum(s[k] for s in samples) / len(samples), 4) for k in samples[0]}


def paired_bootstrap(a: dict[str, float], b: dict[str, float], rounds: int = 2000, seed: int = 7) -> dict[str, float]:
    """Mean per-query difference a − b of NDCG@10, relative to b, with a 95 % bootstrap interval."""
    queries = sorted(a)
    diffs = [a[q] - b[q] for q in queries]
    mean_b = sum(b[q] for q in queries) / len(queries)
    rng = random.Random(seed)
    means = sorted(sum(rng.choice(diffs) for _ in diffs) / len(diffs) for _ in range(rounds))
    low, high = means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]
    mean = sum(diffs) / len(diffs)
    return {"difference": round(mean, 4), "relative": round(mean / mean_b, 4) if mean_b else 0.0,
            "ci95": [round(low, 4), round(high, 4)], "significant": not low <= 0.0 <= high}

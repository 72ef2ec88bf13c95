"""State machines by clustering the hidden states reached on random rollouts.

``FSMExtractor`` grows a depth-limited tree from h_{-1}; its leaves can never be merged, so noisy
finite machines (Div_k) come out with hundreds of states. Trained nets also drift: on Div_7 the
states of one (remainder, quotient bit) class spread as far as the whole state cloud, so no
hidden-space radius separates them. ``ClusterFSM`` therefore clusters by *behaviour*:

1. rolls the network out from h_{-1} on random sequences of the training length L (longer ones
   leave the network's competence) and keeps the distinct hidden states h_t, plus h_{-1};
2. gives every state a signature: the network's rounded outputs on every probe word of length
   ``depth`` (all |alphabet|^depth words, at most ``max_probes``) run from that state -- a bounded
   Myhill-Nerode test; states with equal signatures form one cluster;
3. builds transitions by stepping up to ``per_cluster`` members of every cluster on every symbol;
   the members vote on the next cluster (``deterministic_``: at least ``min_agreement`` of the
   edges were unanimous -- reported, not required: drifted members of a noisy net disagree, and
   the machine's agreement with the network is the real test); successors with an unseen
   signature are outvoted by members reaching a known cluster, and only when no member reaches a
   known cluster is a new one added -- unless its signature is within ``noise`` (fraction of
   probe outputs) of a known cluster's, which it then joins --, breadth first; states more than
   ``max_generation`` steps beyond the rollouts are snapped to the cluster with the nearest
   signature instead (closure: at most ``max_snapped`` of the edges out of clusters with more
   than one member snapped -- singletons are network slips --, states capped);
4. Moore-minimises and checks against the network on fresh sequences (L and 2L).

A counter (Majority_*, Evens_Counter) is not finite: closure fails at the cap, and the lattice pass
is the right route.
"""

from __future__ import annotations

import numpy as np
import torch

from ...tasks.spec import SequenceTask
from .adapter import Collection, RNNAdapter, check_adapter, collection_for, symbol_features
from .fsm import MealyMachine, _agreement, minimise


def _closest(keys: list[bytes], g: bytes) -> tuple[int, float]:
    """The cluster whose signature differs from ``g`` in the fewest probe outputs, and the
    fraction of outputs that differ."""
    a = np.frombuffer(g, dtype=np.int64)
    d = [np.count_nonzero(np.frombuffer(k, dtype=np.int64) != a) for k in keys]
    j = int(np.argmin(d))
    return j, d[j] / len(a)


class ClusterFSM:
    """Network -> minimal Mealy machine from clustered rollout states (see module docstring).

    Results: ``machine_`` (minimised, or None), ``raw_states_``, ``tol_``, ``deterministic_``,
    ``closed_``, ``fidelity_`` / ``fidelity_2x_`` (vs the network), ``candidates_``
    (tol, clusters, states, fidelity), ``report_``.
    """

    def __init__(self, depths: tuple[int, ...] = (3, 5, 7), n: int = 200, max_states: int = 200,
                 per_cluster: int = 8, max_probes: int = 256, max_symbols: int = 64,
                 min_agreement: float = 0.9, max_generation: int = 2, max_snapped: float = 0.1,
                 noise: float = 0.03, n_check: int = 500, seed: int = 13) -> None:
        self.min_agreement, self.max_generation, self.noise = min_agreement, max_generation, noise
        self.max_snapped = max_snapped
        self.depths, self.n, self.max_states, self.per_cluster = depths, n, max_states, per_cluster
        self.max_probes, self.max_symbols = max_probes, max_symbols
        self.n_check, self.seed = n_check, seed

    @torch.no_grad()
    def fit(self, net: RNNAdapter, task: SequenceTask, states: Collection | None = None
            ) -> ClusterFSM:
        """``states``: the distiller's collection (the states of its first ``n`` fit sequences
        are clustered; its check sequences at L and 2L measure agreement)."""
        check_adapter(net)
        self.machine_, self.fidelity_, self.fidelity_2x_, self.candidates_ = None, 0.0, 0.0, []
        self.closed_ = self.deterministic_ = False
        if len(task.symbols) > self.max_symbols:
            self.report_ = f"{len(task.symbols)} input symbols > max_symbols={self.max_symbols}"
            return self
        rng = np.random.default_rng(self.seed)
        h0 = net.initial_state(1)[0].double().numpy()
        states = collection_for(net, task, states, self.seed)
        X = self._points(states.fit.h[: self.n], rng, h0)               # [N, H]
        xs, x2 = states.check.head(self.n_check), states.check_2x.head(self.n_check // 2)
        feats = symbol_features(net, task).float()                       # [S, F]
        S = feats.shape[0]
        for depth in sorted({max(1, min(d, int(np.log(self.max_probes) / np.log(max(S, 2)))))
                             for d in self.depths}):
            raw, det, closed = self._machine(net, task, X, feats, depth)
            if raw is None:
                self.candidates_.append((depth, f"> {self.max_states}", None, False, False, 0.0))
                continue
            mm = minimise(raw)
            fid = _agreement(mm, xs)
            self.candidates_.append((depth, raw.n_states, mm.n_states, det, closed, fid,
                                     round(self.snapped_, 3)))
            if fid == 1.0 and closed:
                self.machine_, self.fidelity_, self.depth_ = mm, fid, depth
                self.raw_states_, self.deterministic_, self.closed_ = raw.n_states, det, closed
                self.fidelity_2x_ = _agreement(mm, x2)
                break
        if self.machine_ is None:
            self.report_ = ("no closed deterministic machine reproduces the network (probe "
                            f"depth, clusters, states, deterministic, closed, fidelity, snapped): "
                            f"{self.candidates_}")
            return self
        self.report_ = (f"{self.raw_states_} behaviour clusters (probe depth {self.depth_}) -> "
                        f"{self.machine_.n_states} states after minimisation; closed, "
                        f"{'' if self.deterministic_ else 'not '}deterministic; agrees with the "
                        f"network on {self.fidelity_:.1%} (2x length: "
                        f"{self.fidelity_2x_:.1%})")
        return self

    @staticmethod
    def _points(H: np.ndarray, rng, h0: np.ndarray) -> np.ndarray:
        """h_{-1} first, then the distinct states of rollouts ``H [n, L, H]``, random order."""
        X = H.reshape(-1, H.shape[-1])
        _, idx = np.unique(np.round(X, 5), axis=0, return_index=True)
        X = X[rng.permutation(idx)[:4000]]
        return np.concatenate([h0[None], X])

    @staticmethod
    def signatures(net, X: np.ndarray, feats: torch.Tensor, depth: int) -> list[bytes]:
        """Rounded outputs on every probe word of length ``depth`` from each state [N, H]."""
        S = feats.shape[0]
        words = np.array(np.meshgrid(*[np.arange(S)] * depth, indexing="ij")).reshape(depth, -1).T
        P = len(words)                                                   # [P, depth]
        h = torch.as_tensor(X, dtype=torch.float32).repeat_interleave(P, 0)  # [N*P, H]
        outs = []
        for i in range(depth):
            h = net.step(h, feats[torch.as_tensor(np.tile(words[:, i], len(X)))])
            outs.append(torch.round(net.readout(h)).to(torch.int64))
        Y = torch.stack(outs, 1).reshape(len(X), -1).numpy()           # [N, P*depth*D]
        return [row.tobytes() for row in Y]

    def _initial_clusters(self, sig: list[bytes]
                          ) -> tuple[dict[bytes, int], list[list[int]], list[bytes]]:
        """Greedy leader clustering of signatures, most frequent first: a signature joins the
        closest leader when at most ``noise`` of its probe outputs differ (network slips).
        Returns signature -> cluster, up to ``per_cluster`` member rows per cluster, and each
        cluster's leading signature; h_{-1} (row 0) leads cluster 0."""
        A = np.array([np.frombuffer(g, dtype=np.int64) for g in sig])      # [N, P]
        uniq, inv, cnt = np.unique(A, axis=0, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
        leaders: list[int] = []                          # rows of uniq
        cluster = np.zeros(len(uniq), dtype=int)
        first = np.full(len(uniq), len(sig))
        np.minimum.at(first, inv, np.arange(len(sig)))
        for u in sorted(range(len(uniq)), key=lambda u: (u != inv[0], -cnt[u], first[u])):
            if leaders:
                d = (uniq[leaders] != uniq[u]).mean(1)
                j = int(d.argmin())
                if d[j] <= self.noise:
                    cluster[u] = j
                    continue
            cluster[u] = len(leaders)
            leaders.append(u)
            if len(leaders) > self.max_states:
                break
        ids = {uniq[u].tobytes(): c for c, u in enumerate(leaders)}
        members: list[list[int]] = [[] for _ in leaders]
        for i in range(len(sig)):
            c = cluster[inv[i]]
            if len(members[c]) < self.per_cluster:
                members[c].append(i)
        ids.update({g: int(cluster[inv[i]]) for i, g in enumerate(sig) if g not in ids})
        return ids, members, [uniq[u].tobytes() for u in leaders]

    def _machine(self, net, task: SequenceTask, X: np.ndarray, feats, depth: int):
        """Signature clusters -> (raw MealyMachine, deterministic, closed)."""
        S = feats.shape[0]
        sig = self.signatures(net, X, feats, depth)
        ids, members, keys = self._initial_clusters(sig)
        pts = list(X)
        if len(members) > self.max_states:
            return None, False, False
        gen = [0] * len(members)                          # BFS generation (0: seen in rollouts)
        nxt, out, c, votes, agree, snapped, core = {}, {}, 0, 0, 0, 0, 0
        while c < len(members) and len(members) <= self.max_states:
            reps = members[c]
            h = torch.as_tensor(np.array([pts[i] for i in reps]), dtype=torch.float32)
            hn = net.step(h.repeat_interleave(S, 0), feats.repeat(len(reps), 1))   # [R*S, H]
            y = torch.round(net.readout(hn)).to(torch.int64).numpy().reshape(len(reps), S, -1)
            hn_np = hn.double().numpy()
            sn = self.signatures(net, hn_np, feats, depth)
            for k in range(S):
                gs = [sn[r * S + k] for r in range(len(reps))]
                targets = [ids[g] for g in gs if g in ids]
                if not targets:
                    j, frac = _closest(keys, gs[0])
                    if frac <= self.noise:        # a few probe outputs wrong: network noise
                        targets = [j]
                if not targets and gen[c] < self.max_generation:   # a new state: grow (BFS)
                    ids[gs[0]] = len(ids)
                    keys.append(gs[0])
                    gen.append(gen[c] + 1)
                    pts.append(hn_np[k])
                    members.append([len(pts) - 1])
                    targets = [ids[gs[0]]]
                elif not targets:        # drifted beyond the network's competence: snap
                    targets = [j]
                    snapped += len(reps) > 1          # only populated clusters count
                votes += 1
                core += len(reps) > 1
                agree += len(targets) == len(gs) == 1 or (
                    len(set(targets)) == 1 and len(targets) == len(gs)
                    and bool((y[:, k] == y[0, k]).all()))
                nxt[c, k] = max(set(targets), key=targets.count)      # majority vote
                v = y[0, k].tolist()
                out[c, k] = v[0] if len(v) == 1 else tuple(v)
            c += 1
        self.snapped_ = snapped / max(core, 1)
        closed = c == len(members) and self.snapped_ <= self.max_snapped
        det = agree >= self.min_agreement * votes
        n = c
        nx = np.array([[min(nxt[s, k], n - 1) for k in range(S)] for s in range(n)], dtype=int)
        return (MealyMachine(task.symbols, 0, nx, [[out[s, k] for k in range(S)] for s in range(n)],
                             np.ones((n, S), dtype=bool), np.array([pts[m[0]] for m in members[:n]])),
                det, closed)

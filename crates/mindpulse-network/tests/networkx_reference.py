"""NetworkX's answers for the graphs of tests/networkx.rs (run with the stats venv).

Reads JSON from stdin: {"graphs": [{"name", "nodes": [id], "edges": [[i, j, w]],
"seeds": [int], "ours": [[community per node] per seed], "gexf": path, "graphml": path}]}.
Builds a DiGraph summing parallel edges (self-loops kept), and writes JSON to stdout:
per graph, nx.pagerank(G, alpha=0.85, weight="weight") by id, louvain_communities
modularity per seed on the undirected graph (weights of both directions summed),
NetworkX's modularity of our partitions, and what our GEXF and GraphML files hold.
"""
import json
import sys
import xml.etree.ElementTree as ET

import networkx as nx


def undirected(G):
    U = nx.Graph()
    U.add_nodes_from(G)
    for u, v, w in G.edges(data="weight"):
        if U.has_edge(u, v):
            U[u][v]["weight"] += w
        else:
            U.add_edge(u, v, weight=w)
    return U


def gexf_summary(path):
    ns = {"g": "http://gexf.net/1.3"}
    root = ET.parse(path).getroot()
    titles = {a.get("id"): a.get("title") for a in root.iterfind(".//g:attribute", ns)}
    nodes = {}
    for n in root.iterfind(".//g:nodes/g:node", ns):
        vals = {titles[v.get("for")]: float(v.get("value")) for v in n.iterfind(".//g:attvalue", ns)}
        nodes[n.get("id")] = (n.get("label"), vals)
    edges = [
        (nodes[e.get("source")][0], nodes[e.get("target")][0], float(e.get("weight")))
        for e in root.iterfind(".//g:edges/g:edge", ns)
    ]
    return {
        "version": root.get("version"),
        "labels": sorted(label for label, _ in nodes.values()),
        "pagerank": {label: vals.get("pagerank") for label, vals in nodes.values()},
        "community": {label: vals.get("community") for label, vals in nodes.values()},
        "edges": sorted(edges),
    }


def graphml_summary(path):
    H = nx.read_graphml(path)
    label = {n: d["label"] for n, d in H.nodes(data=True)}
    return {
        "directed": H.is_directed(),
        "labels": sorted(label.values()),
        "in_degree": {label[n]: d.get("in_degree") for n, d in H.nodes(data=True)},
        "edges": sorted((label[u], label[v], w) for u, v, w in H.edges(data="weight")),
    }


def main():
    req = json.load(sys.stdin)
    out = {"networkx": nx.__version__, "graphs": []}
    for g in req["graphs"]:
        ids = g["nodes"]
        G = nx.DiGraph()
        G.add_nodes_from(ids)
        for i, j, w in g["edges"]:
            u, v = ids[i], ids[j]
            if G.has_edge(u, v):
                G[u][v]["weight"] += w
            else:
                G.add_edge(u, v, weight=w)
        pr = nx.pagerank(G, alpha=0.85, weight="weight")
        U = undirected(G)
        louvain, ours = [], []
        for seed, part in zip(g["seeds"], g["ours"]):
            comms = nx.community.louvain_communities(U, weight="weight", resolution=1, seed=seed)
            louvain.append(nx.community.modularity(U, comms, weight="weight"))
            groups = {}
            for node, c in zip(ids, part):
                groups.setdefault(c, set()).add(node)
            ours.append(nx.community.modularity(U, list(groups.values()), weight="weight"))
        out["graphs"].append(
            {
                "name": g["name"],
                "nodes": G.number_of_nodes(),
                "edges": G.number_of_edges(),
                "pagerank": pr,
                "louvain_modularity": louvain,
                "modularity_of_ours": ours,
                "gexf": gexf_summary(g["gexf"]),
                "graphml": graphml_summary(g["graphml"]),
            }
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

//! The whole pipeline: check the input, PCA, clustering, outlier reassignment, numbering,
//! keywords, centroids and examples.

use crate::cluster::cluster;
use crate::ctfidf::{keywords, Keyword};
use crate::error::TopicsError;
use crate::graph::knn_communities;
use crate::outliers::{centroids, cosine, reassign};
use crate::reduce::Pca;
use crate::words::Words;

/// How the reduced embeddings are clustered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Louvain communities of the k-nearest-neighbour graph ([`crate::graph`]); the default.
    Graph,
    /// HDBSCAN, excess of mass ([`crate::cluster`]); use with `dims` 5–10.
    Hdbscan,
}

/// Parameters of [`build`]; `Default` gives the values documented on each field.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicParams {
    /// The clustering ([`Method::Graph`]).
    pub method: Method,
    /// Graph: neighbours per post (15, as UMAP's and BERTopic's `n_neighbors`).
    pub neighbours: usize,
    /// Graph: Louvain's modularity resolution (1.0; larger gives more, smaller topics).
    pub resolution: f64,
    /// Graph: Louvain's seed (42).
    pub seed: u64,
    /// The smallest topic (15: the smallest worth reading about); for HDBSCAN its
    /// `min_cluster_size` and `min_samples`.
    pub min_size: usize,
    /// PCA components clustered on (32 for the graph, where cosine neighbourhoods need
    /// room; [`TopicParams::hdbscan`] uses 8, few enough that density still means
    /// something; BERTopic uses 5 UMAP components).
    pub dims: usize,
    /// At most this many posts are clustered; the rest are labelled by their nearest
    /// fitted post (20 000: Prim's O(n²) takes seconds there).
    pub max_fit: usize,
    /// Keywords per topic (10, as BERTopic).
    pub keywords: usize,
    /// Cosine similarity to a topic centroid from which a noise post joins that topic (0.5).
    pub min_similarity: f32,
    /// Largest share of posts left without a topic (0.10).
    pub max_unassigned: f64,
    /// Example posts per topic, those closest to its centroid (5).
    pub examples: usize,
    /// Keywords must occur in at least this many posts (2).
    pub min_df: usize,
}

impl TopicParams {
    /// The defaults with HDBSCAN instead of the graph, on 8 PCA components.
    pub fn hdbscan() -> Self {
        Self {
            method: Method::Hdbscan,
            dims: 8,
            ..Self::default()
        }
    }
}

impl Default for TopicParams {
    fn default() -> Self {
        Self {
            method: Method::Graph,
            neighbours: 15,
            resolution: 1.0,
            seed: 42,
            min_size: 15,
            dims: 32,
            max_fit: 20_000,
            keywords: 10,
            min_similarity: 0.5,
            max_unassigned: 0.10,
            examples: 5,
            min_df: 2,
        }
    }
}

/// The posts to find topics in.
#[derive(Debug, Clone, Copy)]
pub struct TopicInput<'a> {
    /// Post ids, strictly increasing.
    pub ids: &'a [i64],
    /// Embeddings, row-major `ids.len() × dim` (L2-normalized sentence embeddings).
    pub embeddings: &'a [f32],
    /// Embedding dimension (384 for the packaged encoders).
    pub dim: usize,
    /// Post texts, for keywords.
    pub texts: &'a [String],
}

/// One topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    /// 0.., by size descending, ties by the smallest member id.
    pub number: u32,
    /// Number of posts (after reassignment).
    pub size: usize,
    /// c-TF-IDF keywords and weights, best first.
    pub keywords: Vec<Keyword>,
    /// Mean embedding of the members (not re-normalized).
    pub centroid: Vec<f32>,
    /// Ids of the members most similar (cosine) to the centroid, best first, ties by id.
    pub examples: Vec<i64>,
}

/// The result of [`build`].
#[derive(Debug, Clone, PartialEq)]
pub struct TopicModel {
    /// The topics, `topics[i].number == i`.
    pub topics: Vec<Topic>,
    /// Per input row: its topic number, `None` when unassigned.
    pub assignment: Vec<Option<u32>>,
    /// Noise posts reassigned by similarity ≥ `min_similarity`.
    pub reassigned_by_similarity: usize,
    /// Noise posts reassigned to respect `max_unassigned`.
    pub reassigned_to_cap: usize,
    /// Posts without a topic.
    pub unassigned: usize,
    /// HDBSCAN's number of noise posts before reassignment.
    pub noise: usize,
    /// The parameters used.
    pub params: TopicParams,
}

fn check(input: &TopicInput<'_>, params: &TopicParams) -> Result<(), TopicsError> {
    let bad = |m: &str| Err(TopicsError::InvalidParameter(m.to_string()));
    if params.min_size < 2 {
        return bad("min_size must be at least 2");
    }
    if params.dims == 0 {
        return bad("dims must be at least 1");
    }
    if params.neighbours == 0 {
        return bad("neighbours must be at least 1");
    }
    if !(params.resolution.is_finite() && params.resolution > 0.0) {
        return bad("resolution must be a positive number");
    }
    if params.max_fit < params.min_size {
        return bad("max_fit must be at least min_size");
    }
    if !(params.min_similarity.is_finite() && (-1.0..=1.0).contains(&params.min_similarity)) {
        return bad("min_similarity must be in [-1, 1]");
    }
    if !(0.0..=1.0).contains(&params.max_unassigned) {
        return bad("max_unassigned must be in [0, 1]");
    }
    let n = input.ids.len();
    if n == 0 {
        return Err(TopicsError::Empty);
    }
    if input.dim == 0 || input.embeddings.len() != n.saturating_mul(input.dim) {
        return Err(TopicsError::DimMismatch {
            got: input.embeddings.len(),
            rows: n,
            dim: input.dim,
        });
    }
    if input.texts.len() != n {
        return Err(TopicsError::LengthMismatch {
            what: "texts",
            got: input.texts.len(),
            rows: n,
        });
    }
    if let Some(p) = input.embeddings.iter().position(|x| !x.is_finite()) {
        return Err(TopicsError::NonFinite {
            row: p / input.dim,
            col: p % input.dim,
        });
    }
    for (row, w) in input.ids.windows(2).enumerate() {
        if w[1] <= w[0] {
            return Err(TopicsError::IdsNotIncreasing {
                row: row + 1,
                previous: w[0],
                id: w[1],
            });
        }
    }
    Ok(())
}

/// Finds the topics of `input` (see the crate doc for the steps and their guarantees).
pub fn build(
    input: TopicInput<'_>,
    params: &TopicParams,
    words: &Words,
) -> Result<TopicModel, TopicsError> {
    check(&input, params)?;
    let (n, dim) = (input.ids.len(), input.dim);
    let empty = |noise| TopicModel {
        topics: Vec::new(),
        assignment: vec![None; n],
        reassigned_by_similarity: 0,
        reassigned_to_cap: 0,
        unassigned: n,
        noise,
        params: params.clone(),
    };
    if n < params.min_size {
        return Ok(empty(n));
    }
    // 1. PCA on the rows HDBSCAN will be fitted on, applied to all.
    let stride = n.div_ceil(params.max_fit).max(1);
    let fit_rows: Vec<usize> = (0..n).step_by(stride).collect();
    let pca = Pca::fit(input.embeddings, dim, &fit_rows, params.dims);
    let reduced = pca.transform(input.embeddings);
    // 2. Clusters.
    let clustering = match params.method {
        Method::Graph => knn_communities(
            &reduced,
            pca.k(),
            params.neighbours,
            params.resolution,
            params.seed,
            params.min_size,
            params.max_fit,
        )?,
        Method::Hdbscan => cluster(&reduced, pca.k(), params.min_size, params.max_fit),
    };
    let noise = clustering.labels.iter().filter(|&&l| l < 0).count();
    if clustering.clusters == 0 {
        return Ok(empty(noise));
    }
    let hdb: Vec<Option<u32>> = clustering
        .labels
        .iter()
        .map(|&l| u32::try_from(l).ok())
        .collect();
    // 3. Outliers.
    let re = reassign(
        input.embeddings,
        dim,
        &hdb,
        clustering.clusters,
        f64::from(params.min_similarity),
        params.max_unassigned,
    );
    // 4. Number topics by size descending, then smallest member id (= first row).
    let k = clustering.clusters;
    let mut size = vec![0usize; k];
    let mut first = vec![usize::MAX; k];
    for (r, t) in re.assignment.iter().enumerate() {
        if let Some(t) = t {
            size[*t as usize] += 1;
            first[*t as usize] = first[*t as usize].min(r);
        }
    }
    let mut order: Vec<usize> = (0..k).filter(|&c| size[c] > 0).collect();
    order.sort_by(|&a, &b| size[b].cmp(&size[a]).then(first[a].cmp(&first[b])));
    let mut renumber = vec![None; k];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = Some(new as u32);
    }
    let assignment: Vec<Option<u32>> = re
        .assignment
        .iter()
        .map(|t| t.and_then(|t| renumber[t as usize]))
        .collect();
    let n_topics = order.len();
    // 5. Keywords, centroids, examples.
    let docs: Vec<Vec<String>> = input.texts.iter().map(|t| words.words(t)).collect();
    let kw = keywords(&docs, &assignment, n_topics, params.keywords, params.min_df);
    let cents = centroids(input.embeddings, dim, &assignment, n_topics);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_topics];
    for (r, t) in assignment.iter().enumerate() {
        if let Some(t) = t {
            members[*t as usize].push(r);
        }
    }
    let topics = kw
        .into_iter()
        .enumerate()
        .map(|(t, keywords)| {
            let c = &cents[t * dim..(t + 1) * dim];
            let mut scored: Vec<(f64, usize)> = members[t]
                .iter()
                .map(|&r| (cosine(&input.embeddings[r * dim..(r + 1) * dim], c), r))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            Topic {
                number: t as u32,
                size: members[t].len(),
                keywords,
                centroid: c.iter().map(|&x| x as f32).collect(),
                examples: scored
                    .iter()
                    .take(params.examples)
                    .map(|&(_, r)| input.ids[r])
                    .collect(),
            }
        })
        .collect();
    Ok(TopicModel {
        topics,
        assignment,
        reassigned_by_similarity: re.by_similarity,
        reassigned_to_cap: re.to_cap,
        unassigned: re.unassigned,
        noise,
        params: params.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::nmi;
    use crate::num::{Normal as _, SplitMix64};
    use crate::words::shared;

    const VOCAB: [&[&str]; 4] = [
        &[
            "失眠", "焦虑", "压力", "噩梦", "熬夜", "心慌", "紧张", "头疼", "疲惫", "担心", "害怕",
            "崩溃",
        ],
        &[
            "exam",
            "grades",
            "study",
            "professor",
            "homework",
            "deadline",
            "semester",
            "tuition",
            "failing",
            "library",
            "essay",
            "lecture",
        ],
        &[
            "加班", "老板", "工资", "辞职", "同事", "项目", "上班", "开会", "绩效", "裁员", "工作",
            "升职",
        ],
        &[
            "breakup",
            "boyfriend",
            "girlfriend",
            "lonely",
            "divorce",
            "heartbroken",
            "cheating",
            "texting",
            "dating",
            "ghosted",
            "crying",
            "wedding",
        ],
    ];

    struct Data {
        ids: Vec<i64>,
        emb: Vec<f32>,
        texts: Vec<String>,
        truth: Vec<i64>,
    }

    fn unit(v: &mut [f64]) {
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
    }

    /// Four Gaussian blobs of `per` posts in 384-d (normalized), texts from each blob's
    /// vocabulary (two Chinese, two English), shuffled, plus 8 random outlier posts.
    fn synthetic(per: usize, seed: u64) -> Data {
        let d = 384;
        let mut rng = SplitMix64::new(seed);
        let centers: Vec<Vec<f64>> = (0..4)
            .map(|_| {
                let mut c: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
                unit(&mut c);
                c
            })
            .collect();
        let mut rows: Vec<(Vec<f64>, String, i64)> = Vec::new();
        for (b, c) in centers.iter().enumerate() {
            for _ in 0..per {
                let mut v: Vec<f64> = c.iter().map(|x| x + 0.04 * rng.normal()).collect();
                unit(&mut v);
                let w: Vec<&str> = (0..4).map(|_| VOCAB[b][rng.below(12)]).collect();
                let text = if b % 2 == 0 {
                    format!("我{}，{}，{}，{}。", w[0], w[1], w[2], w[3])
                } else {
                    format!("I {} and {}, but {} is {}!", w[0], w[1], w[2], w[3])
                };
                rows.push((v, text, b as i64));
            }
        }
        for _ in 0..8 {
            let mut v: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            unit(&mut v);
            rows.push((v, "random words here".to_string(), -1));
        }
        // Shuffle (Fisher–Yates) so blobs are interleaved.
        for i in (1..rows.len()).rev() {
            let j = rng.below(i + 1);
            rows.swap(i, j);
        }
        Data {
            ids: (0..rows.len() as i64).map(|i| 1000 + 3 * i).collect(),
            emb: rows
                .iter()
                .flat_map(|r| r.0.iter().map(|&x| x as f32))
                .collect(),
            texts: rows.iter().map(|r| r.1.clone()).collect(),
            truth: rows.iter().map(|r| r.2).collect(),
        }
    }

    fn input(d: &Data) -> TopicInput<'_> {
        TopicInput {
            ids: &d.ids,
            embeddings: &d.emb,
            dim: 384,
            texts: &d.texts,
        }
    }

    #[test]
    fn end_to_end_finds_the_blobs_reproducibly() {
        end_to_end(TopicParams::default());
    }

    #[test]
    fn end_to_end_with_hdbscan() {
        end_to_end(TopicParams::hdbscan());
    }

    fn end_to_end(params: TopicParams) {
        let data = synthetic(60, 11);
        let m = build(input(&data), &params, shared()).expect("valid input");
        assert_eq!(m.topics.len(), 4, "{m:#?}");
        let got: Vec<i64> = m
            .assignment
            .iter()
            .map(|t| t.map_or(-1, i64::from))
            .collect();
        let score = nmi(&data.truth, &got);
        assert!(score >= 0.9, "NMI {score}");
        assert!(
            m.unassigned as f64 <= 0.10 * data.ids.len() as f64,
            "{}",
            m.unassigned
        );
        assert_eq!(
            m.unassigned,
            m.assignment.iter().filter(|t| t.is_none()).count()
        );
        for (i, t) in m.topics.iter().enumerate() {
            assert_eq!(t.number as usize, i);
            assert_eq!(
                t.size,
                m.assignment
                    .iter()
                    .filter(|&&a| a == Some(t.number))
                    .count()
            );
            if i > 0 {
                assert!(m.topics[i - 1].size >= t.size);
            }
            // The blob most of its posts come from.
            let mut per = [0usize; 4];
            for (r, a) in m.assignment.iter().enumerate() {
                if *a == Some(t.number) && data.truth[r] >= 0 {
                    per[data.truth[r] as usize] += 1;
                }
            }
            let blob = (0..4)
                .max_by_key(|&b| (per[b], std::cmp::Reverse(b)))
                .unwrap_or(0);
            assert_eq!(t.keywords.len(), 10);
            for (w, weight) in &t.keywords {
                assert!(
                    VOCAB[blob].contains(&w.as_str()),
                    "topic {i} keyword {w} not in blob {blob}"
                );
                assert!(*weight > 0.0);
            }
            assert_eq!(t.examples.len(), 5);
            for id in &t.examples {
                let r = data.ids.binary_search(id).expect("an input id");
                assert_eq!(m.assignment[r], Some(t.number));
            }
            assert_eq!(t.centroid.len(), 384);
        }
        // Byte-identical on a second run.
        let again = build(input(&data), &params, shared()).expect("valid input");
        assert_eq!(m, again);
        assert_eq!(format!("{m:?}"), format!("{again:?}"));
    }

    #[test]
    fn subsampled_fit_still_finds_the_blobs() {
        let data = synthetic(60, 12);
        for base in [TopicParams::default(), TopicParams::hdbscan()] {
            let params = TopicParams {
                max_fit: 100,
                ..base
            };
            let m = build(input(&data), &params, shared()).expect("valid input");
            assert_eq!(m.topics.len(), 4, "{:?}", params.method);
            let got: Vec<i64> = m
                .assignment
                .iter()
                .map(|t| t.map_or(-1, i64::from))
                .collect();
            assert!(nmi(&data.truth, &got) >= 0.9, "{:?}", params.method);
        }
    }

    #[test]
    fn subsampled_fit_still_finds_the_blobs_old() {
        let data = synthetic(60, 12);
        let params = TopicParams {
            max_fit: 100,
            ..TopicParams::hdbscan()
        };
        let m = build(input(&data), &params, shared()).expect("valid input");
        assert_eq!(m.topics.len(), 4);
        let got: Vec<i64> = m
            .assignment
            .iter()
            .map(|t| t.map_or(-1, i64::from))
            .collect();
        assert!(nmi(&data.truth, &got) >= 0.9);
    }

    #[test]
    fn fewer_posts_than_min_size_gives_no_topics() {
        // 4 blobs of 2 posts and 8 random ones: 16 posts, fewer than 20.
        let data = synthetic(2, 13);
        let params = TopicParams {
            min_size: 20,
            ..TopicParams::default()
        };
        let m = build(input(&data), &params, shared()).expect("valid input");
        assert!(m.topics.is_empty());
        assert_eq!(m.unassigned, data.ids.len());
        assert!(m.assignment.iter().all(Option::is_none));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let w = shared();
        let p = TopicParams::default();
        let texts = vec![String::new(), String::new()];
        let emb = vec![0.5f32; 4];
        let ok = TopicInput {
            ids: &[1, 2],
            embeddings: &emb,
            dim: 2,
            texts: &texts,
        };
        assert!(build(ok, &p, w).is_ok());
        let e = |i: TopicInput<'_>, p: &TopicParams| build(i, p, w).err();
        assert_eq!(
            e(
                TopicInput {
                    ids: &[],
                    embeddings: &[],
                    dim: 2,
                    texts: &[]
                },
                &p
            ),
            Some(TopicsError::Empty)
        );
        assert!(matches!(
            e(TopicInput { dim: 3, ..ok }, &p),
            Some(TopicsError::DimMismatch { .. })
        ));
        assert!(matches!(
            e(TopicInput { dim: 0, ..ok }, &p),
            Some(TopicsError::DimMismatch { .. })
        ));
        assert!(matches!(
            e(
                TopicInput {
                    texts: &texts[..1],
                    ..ok
                },
                &p
            ),
            Some(TopicsError::LengthMismatch { .. })
        ));
        let nan = [0.5, f32::NAN, 0.5, 0.5];
        assert_eq!(
            e(
                TopicInput {
                    embeddings: &nan,
                    ..ok
                },
                &p
            ),
            Some(TopicsError::NonFinite { row: 0, col: 1 })
        );
        let inf = [0.5, 0.5, f32::INFINITY, 0.5];
        assert_eq!(
            e(
                TopicInput {
                    embeddings: &inf,
                    ..ok
                },
                &p
            ),
            Some(TopicsError::NonFinite { row: 1, col: 0 })
        );
        assert!(matches!(
            e(TopicInput { ids: &[2, 2], ..ok }, &p),
            Some(TopicsError::IdsNotIncreasing { row: 1, .. })
        ));
        assert!(matches!(
            e(TopicInput { ids: &[3, 1], ..ok }, &p),
            Some(TopicsError::IdsNotIncreasing { .. })
        ));
        for bad in [
            TopicParams {
                min_size: 1,
                ..p.clone()
            },
            TopicParams {
                dims: 0,
                ..p.clone()
            },
            TopicParams {
                max_fit: 3,
                ..p.clone()
            },
            TopicParams {
                min_similarity: f32::NAN,
                ..p.clone()
            },
            TopicParams {
                max_unassigned: 1.5,
                ..p.clone()
            },
        ] {
            assert!(
                matches!(e(ok, &bad), Some(TopicsError::InvalidParameter(_))),
                "{bad:?}"
            );
        }
    }
}

//! Crash: SIGKILL during a burst of submissions. After the restart the
//! tree, the checkpoints and the data agree, and every receipt verifies:
//! its checkpoint is extended by the new one, its acceptance leaf is proven
//! at the new size, the leaves hash to the new root, and there are exactly
//! as many acceptance leaves as stored reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use sealdrop_api::log::{LogProof, MAX_LEAVES_PER_PAGE};
use sealdrop_api::{B64, Receipt};
use sealdrop_client::Client;
use sealdrop_client::log_check::{self, extends, included};
use sealdrop_proto::ReportId;
use sealdrop_proto::codec::Decode;
use sealdrop_proto::log::checkpoint::Checkpoint;
use sealdrop_proto::log::entry::LogEntry;
use sealdrop_proto::log::merkle::{MerkleTree, leaf_hash};
use sealdrop_proto::messages::Acknowledgement;
use sealdrop_proto::signed::Signed;

const THREADS: usize = 6;
const AT_LEAST: usize = 150;

#[test]
fn after_sigkill_mid_burst_the_log_and_every_receipt_agree() {
    let mut d = Deployment::new();
    let pinned = pins(&d.server, &d.manager.client);
    let (origin, key) = (pinned.log_origin.clone(), pinned.log_key);

    // A burst from several connections, every receipt kept.
    let receipts: Arc<Mutex<Vec<(ReportId, Receipt)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..THREADS {
        let (receipts, stop) = (receipts.clone(), stop.clone());
        let url = d.server.url.clone();
        let token = d.shopper.client.token().unwrap().to_owned();
        let (key_bytes, v2) = (d.shopper.key.to_secret_bytes(), d.v2.clone());
        threads.push(std::thread::spawn(move || {
            let me = sealdrop_proto::SecretIdentity::from_secret_bytes(&key_bytes);
            let mut client = Client::new(&url).unwrap();
            client.set_token(Some(token));
            while !stop.load(Ordering::Relaxed) {
                let s = seal(&me, &v2, b"{\"visit\":true}", &[]);
                match client.submit(&s.report, &s.stream_refs()) {
                    Ok(r) => receipts
                        .lock()
                        .unwrap()
                        .push((s.report.report_id(), r.receipt)),
                    // The server is gone.
                    Err(_) => break,
                }
            }
        }));
    }
    while receipts.lock().unwrap().len() < AT_LEAST {
        assert!(
            !threads.iter().all(|t| t.is_finished()),
            "every submitter stopped before {AT_LEAST} receipts"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    d.server.kill();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let receipts = receipts.lock().unwrap().clone();
    assert!(receipts.len() >= AT_LEAST);

    // Every receipt verified as received: the acknowledgement under the
    // log key, its leaf rebuilt from it, proven in its own checkpoint.
    let mut checked = Vec::new();
    for (id, receipt) in &receipts {
        let ack = Signed::<Acknowledgement>::from_bytes(&receipt.acknowledgement.0).unwrap();
        let body = ack.verify_by_key(&key).unwrap();
        assert_eq!((&body.report_id, &body.log_origin), (id, &origin));
        let entry = LogEntry::Accepted {
            program: body.program_id,
            report: body.report_id,
            sealed_report: body.sealed_report,
            received_at: body.received_at,
        };
        let proof = receipt.log.clone().expect("every receipt has a log proof");
        let at = included(&proof, &entry, &origin, &key).unwrap();
        checked.push((*id, entry, proof, at));
    }

    // Restarted on the same data, with the same key and origin.
    let restarted = TestServer::start_on(&d.server.data, &[]);
    let mut shopper = restarted.client();
    shopper.sign_in(&d.shopper.key).unwrap();
    let again = pins(&restarted, &shopper);
    assert_eq!((&again.log_origin, again.log_key), (&origin, key));
    let note = shopper.log_checkpoint().unwrap();
    let now_cp = log_check::checkpoint(&note, &origin, &key).unwrap();
    let note = String::from_utf8(note).unwrap();

    // The new checkpoint extends every receipt's checkpoint.
    let mut seen: BTreeMap<u64, Checkpoint> = BTreeMap::new();
    for (_, _, _, at) in &checked {
        if let Some(earlier) = seen.insert(at.size(), at.clone()) {
            assert_eq!(&earlier, at, "two checkpoints of one size differ");
        }
    }
    for at in seen.values() {
        let path = shopper.log_consistency(at.size(), now_cp.size()).unwrap();
        extends(at, &now_cp, &path).unwrap();
    }
    // Every acceptance leaf is proven at the new size.
    for (id, entry, proof, _) in &checked {
        let path = shopper
            .log_inclusion(proof.leaf_index, now_cp.size())
            .unwrap();
        let at_new = LogProof {
            leaf_index: proof.leaf_index,
            tree_size: now_cp.size(),
            path: path.iter().map(|h| B64(h.to_vec())).collect(),
            checkpoint: note.clone(),
        };
        let proven = included(&at_new, entry, &origin, &key)
            .unwrap_or_else(|e| panic!("{id} at leaf {}: {e}", proof.leaf_index));
        assert_eq!(proven, now_cp);
    }

    // As an auditor: the leaves, page by page, hash to the new root; each
    // receipt's leaf is at its index; and there are as many acceptance
    // leaves as stored reports.
    let auditor = enrol(&restarted, &restarted.operator_token("auditor", None));
    let mut tree = MerkleTree::new();
    let mut accepted: HashMap<ReportId, u64> = HashMap::new();
    let mut index = 0;
    while index < now_cp.size() {
        let end = now_cp.size().min(index + MAX_LEAVES_PER_PAGE);
        let page = auditor.client.log_leaves(index, end).unwrap();
        assert_eq!(page.len() as u64, end - index);
        for data in page {
            tree.push(leaf_hash(&data));
            if let LogEntry::Accepted { report, .. } = LogEntry::from_leaf_data(&data).unwrap() {
                assert!(accepted.insert(report, index).is_none(), "{report} twice");
            }
            index += 1;
        }
    }
    assert_eq!(tree.len(), now_cp.size());
    assert_eq!(&tree.root(), now_cp.root());
    for (id, entry, proof, _) in &checked {
        assert_eq!(accepted.get(id), Some(&proof.leaf_index), "{id}");
        assert_eq!(tree.leaf(proof.leaf_index), Some(entry.leaf_hash()));
    }
    let mut stored = HashSet::new();
    let mut after = None;
    loop {
        let page = auditor.client.audit_reports(after).unwrap();
        for r in page.items {
            assert!(r.tombstone.is_none());
            assert!(stored.insert(r.report), "a report listed twice");
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(accepted.len(), stored.len());
    let logged: HashSet<String> = accepted.keys().map(ToString::to_string).collect();
    assert_eq!(logged, stored);
    eprintln!(
        "{} receipts, {} reports stored, {} leaves",
        receipts.len(),
        stored.len(),
        now_cp.size()
    );
}

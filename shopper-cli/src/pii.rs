//! Finding personal data in free-text answers before anything is sealed:
//! phone numbers (validated with `phonenumber`), e-mail addresses, payment
//! card numbers (Luhn) and IBANs (ISO 13616 mod-97). Reports name shops and
//! staff behaviour, not people: a shopper who typed a number is told so,
//! and the report is sealed only with `--mask` or `--allow-pii`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Phone,
    Email,
    Card,
    Iban,
}

impl Kind {
    pub fn mask(self) -> &'static str {
        match self {
            Kind::Phone => "[phone number removed]",
            Kind::Email => "[e-mail address removed]",
            Kind::Card => "[card number removed]",
            Kind::Iban => "[IBAN removed]",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Phone => "a phone number",
            Kind::Email => "an e-mail address",
            Kind::Card => "a payment card number",
            Kind::Iban => "an IBAN",
        })
    }
}

/// A finding: its kind and byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Runs of characters in `allowed` that start with a character in `start`,
/// as byte ranges, trailing separators trimmed.
fn runs(
    text: &str,
    start: impl Fn(char) -> bool,
    allowed: impl Fn(char) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let boundary = text[..i]
            .chars()
            .next_back()
            .is_none_or(|p| !p.is_alphanumeric());
        if !start(c) || !boundary {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = iter.peek() {
            if !allowed(d) {
                break;
            }
            end = j + d.len_utf8();
            iter.next();
        }
        let trimmed = text[i..end].trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        out.push((i, i + trimmed.len()));
    }
    out
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn luhn(ds: &[u32]) -> bool {
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn iban_valid(s: &str) -> bool {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !(15..=34).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        for d in v.to_string().chars().filter_map(|d| d.to_digit(10)) {
            rem = (rem * 10 + d) % 97;
        }
    }
    rem == 1
}

fn email_at(text: &str, at: usize) -> Option<(usize, usize)> {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| local(*c))
        .last()?
        .0;
    let after = &text[at + 1..];
    let len = after
        .chars()
        .take_while(|c| domain(*c))
        .map(char::len_utf8)
        .sum::<usize>();
    let host = after[..len].trim_end_matches(['.', '-']);
    let tld = host.rsplit('.').next()?;
    (host.contains('.') && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
        .then_some((start, at + 1 + host.len()))
}

/// Every finding in `text`, in order, none overlapping.
pub fn scan(text: &str, region: Option<phonenumber::country::Id>) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    let add = |kind, (start, end): (usize, usize), found: &mut Vec<Finding>| {
        if !found.iter().any(|f| start < f.end && f.start < end) {
            found.push(Finding { kind, start, end });
        }
    };
    for (s, e) in runs(
        text,
        |c| c.is_ascii_digit(),
        |c| c.is_ascii_digit() || c == ' ' || c == '-',
    ) {
        let ds = digits(&text[s..e]);
        if (13..=19).contains(&ds.len()) && luhn(&ds) {
            add(Kind::Card, (s, e), &mut found);
        }
    }
    // An IBAN starts, at a word boundary, with a country code and two check
    // digits; take the longest stretch of letters, digits and spaces from
    // there that validates.
    for (i, _) in text.char_indices() {
        let b = text.as_bytes();
        let boundary = i == 0 || !b.get(i - 1).is_some_and(u8::is_ascii_alphanumeric);
        let head = b.get(i..i + 4).unwrap_or_default();
        if !boundary
            || head.len() < 4
            || !head[..2].iter().all(u8::is_ascii_alphabetic)
            || !head[2..].iter().all(u8::is_ascii_digit)
        {
            continue;
        }
        let len = text[i..]
            .bytes()
            .take(42)
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b' ')
            .count();
        let run = &text[i..i + len];
        if let Some(l) = (15..=run.len()).rev().find(|&l| iban_valid(&run[..l])) {
            add(Kind::Iban, (i, i + run[..l].trim_end().len()), &mut found);
        }
    }
    for (at, _) in text.match_indices('@') {
        if let Some(range) = email_at(text, at) {
            add(Kind::Email, range, &mut found);
        }
    }
    for (s, e) in runs(
        text,
        |c| c.is_ascii_digit() || c == '+' || c == '(',
        |c| c.is_ascii_digit() || " -.()".contains(c),
    ) {
        let candidate = &text[s..e];
        let n = digits(candidate).len();
        if !(7..=15).contains(&n) {
            continue;
        }
        let parsed = if candidate.starts_with('+') {
            phonenumber::parse(None, candidate)
        } else {
            match region {
                Some(r) => phonenumber::parse(Some(r), candidate),
                None => continue,
            }
        };
        if parsed.is_ok_and(|p| phonenumber::is_valid(&p)) {
            add(Kind::Phone, (s, e), &mut found);
        }
    }
    found.sort_by_key(|f| f.start);
    found
}

/// `text` with every finding replaced by its labelled mask.
pub fn mask(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        out.push_str(&text[at..f.start]);
        out.push_str(f.kind.mask());
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::{Kind, mask, scan};

    fn kinds(text: &str) -> Vec<Kind> {
        scan(text, "GB".parse().ok())
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn finds_each_kind() {
        assert_eq!(kinds("call me on +44 20 7946 0958 tomorrow"), [Kind::Phone]);
        assert_eq!(kinds("or 020 7946 0958"), [Kind::Phone]);
        assert_eq!(kinds("mail jo.smith+x@example.co.uk."), [Kind::Email]);
        assert_eq!(kinds("paid with 4111 1111 1111 1111 today"), [Kind::Card]);
        assert_eq!(
            kinds("IBAN GB82 WEST 1234 5698 7654 32 please"),
            [Kind::Iban]
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "waited 12 minutes at till 3; 4 staff on the floor",
            "receipt 4111 1111 1111 1112 (not a valid card)",
            "the price was 1299 and the code 2026-11-20",
            "GB82 WEST 1234 5698 7654 33 is a wrong check",
            "someone@localhost is not an address we flag",
            "",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }

    #[test]
    fn masks_with_labels() {
        let text = "ring 020 7946 0958 or write a@b.org";
        let found = scan(text, "GB".parse().ok());
        assert_eq!(
            mask(text, &found),
            "ring [phone number removed] or write [e-mail address removed]"
        );
    }
}

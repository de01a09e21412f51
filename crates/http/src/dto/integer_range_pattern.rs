//! A regular expression for the decimal integers of a range, so that a schema can state a
//! numeric range for digits sent as a string (JSON Schema has no `minimum` for strings).

/// One alternative of the pattern: fixed leading digits, then at most one digit class, then
/// any digits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Alternative {
    prefix: String,
    class: Option<(u8, u8)>,
    free: usize,
}

impl Alternative {
    fn render(&self) -> String {
        let class = match self.class {
            None => String::new(),
            Some((low, high)) if low == high => low.to_string(),
            Some((low, high)) if low + 1 == high => format!("[{low}{high}]"),
            Some((low, high)) => format!("[{low}-{high}]"),
        };
        let free = match self.free {
            0 => String::new(),
            1 => "[0-9]".to_owned(),
            n => format!("[0-9]{{{n}}}"),
        };
        format!("{}{class}{free}", self.prefix)
    }

    #[cfg(test)]
    fn matches(&self, digits: &str) -> bool {
        let class_len = usize::from(self.class.is_some());
        let Some(rest) = digits.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        if rest.len() != class_len + self.free {
            return false;
        }
        let in_class = match (self.class, rest.bytes().next()) {
            (Some((low, high)), Some(first)) => (b'0' + low..=b'0' + high).contains(&first),
            (Some(_), None) => false,
            (None, _) => true,
        };
        in_class && rest.bytes().all(|b| b.is_ascii_digit())
    }
}

/// `^0*(...)$`: the digits of every integer in `[min, max)`, leading zeros allowed. For
/// `0 < min < max`.
pub(crate) fn integer_range_pattern(min: u64, max: u64) -> String {
    let alternatives: Vec<String> = alternatives(min, max)
        .iter()
        .map(Alternative::render)
        .collect();
    format!("^0*({})$", alternatives.join("|"))
}

fn alternatives(min: u64, max: u64) -> Vec<Alternative> {
    let (low, high) = (min.to_string(), max.to_string());
    let mut out = Vec::new();
    if low.len() == high.len() {
        let shared = low
            .bytes()
            .zip(high.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let (first_low, first_high) = (digit(&low, shared), digit(&high, shared));
        up_to_nines(&low[..=shared], &low[shared + 1..], &mut out);
        if first_low + 1 < first_high {
            out.push(Alternative {
                prefix: low[..shared].to_owned(),
                class: Some((first_low + 1, first_high - 1)),
                free: low.len() - shared - 1,
            });
        }
        below(&high[..=shared], &high[shared + 1..], &mut out);
    } else {
        up_to_nines("", &low, &mut out);
        for length in low.len() + 1..high.len() {
            out.push(Alternative {
                prefix: String::new(),
                class: Some((1, 9)),
                free: length - 1,
            });
        }
        below("", &high, &mut out);
    }
    out
}

fn digit(digits: &str, at: usize) -> u8 {
    digits.as_bytes().get(at).map_or(0, |b| b - b'0')
}

/// `prefix` followed by anything from `tail` to all nines, as many digits as `tail`.
fn up_to_nines(prefix: &str, tail: &str, out: &mut Vec<Alternative>) {
    if tail.bytes().all(|b| b == b'0') {
        out.push(Alternative {
            prefix: prefix.to_owned(),
            class: None,
            free: tail.len(),
        });
        return;
    }
    let first = digit(tail, 0);
    up_to_nines(&format!("{prefix}{first}"), &tail[1..], out);
    if first < 9 {
        out.push(Alternative {
            prefix: prefix.to_owned(),
            class: Some((first + 1, 9)),
            free: tail.len() - 1,
        });
    }
}

/// `prefix` followed by anything below `tail`, as many digits as `tail`; without a prefix, no
/// leading zero.
fn below(prefix: &str, tail: &str, out: &mut Vec<Alternative>) {
    for at in 0..tail.len() {
        let lowest = u8::from(prefix.is_empty() && at == 0);
        let bound = digit(tail, at);
        if bound > lowest {
            out.push(Alternative {
                prefix: format!("{prefix}{}", &tail[..at]),
                class: Some((lowest, bound - 1)),
                free: tail.len() - at - 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exactly_the_integers_of_the_range() {
        for (min, max) in [
            (1, 10),
            (1, 1000),
            (5, 7),
            (9, 10),
            (10, 11),
            (99, 101),
            (100, 1000),
            (123, 4567),
            (946, 4102),
            (37, 38),
            (1999, 2001),
        ] {
            let alternatives = alternatives(min, max);
            for n in 0..12_000u64 {
                let text = n.to_string();
                let matched = alternatives.iter().any(|a| a.matches(&text));
                assert_eq!(matched, (min..max).contains(&n), "{n} in [{min}, {max})");
            }
        }
    }

    #[test]
    fn renders_classes_compactly() {
        assert_eq!(integer_range_pattern(10, 20), "^0*(1[0-9])$");
        assert_eq!(
            integer_range_pattern(5, 300),
            "^0*(5|[6-9]|[1-9][0-9]|[12][0-9]{2})$"
        );
    }
}

//! The elements of a top-level JSON array, one at a time, without reading the whole array:
//! a scanner that only tracks strings and nesting, and hands each element's bytes to the same
//! strict parser as a request body. A single order object (as `POST /orders` also accepts) is
//! one element.

use std::io::BufRead;

use anyhow::{Result, bail};

/// What the scanner hands over for each element.
#[derive(Debug, PartialEq, Eq)]
pub enum Element<'a> {
    /// The element's bytes, and the line it starts on.
    Bytes { line: u64, json: &'a [u8] },
    /// An element larger than the limit, skipped.
    TooLarge { line: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the array (or the single object).
    Start,
    /// After `[` or `,`: an element must come (or `]` right after `[`).
    BeforeElement {
        first: bool,
    },
    InElement,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After the array: only whitespace.
    Done,
}

/// Calls `each` with every element of the JSON array read from `input`, in order; stops early
/// when `each` returns false. Fails on input that is not one JSON array (or one object).
pub fn for_each_element(
    mut input: impl BufRead,
    max_element_bytes: usize,
    mut each: impl FnMut(Element<'_>) -> bool,
) -> Result<()> {
    let mut phase = Phase::Start;
    let mut single_object = false;
    let mut line: u64 = 1;
    let mut element = Vec::new();
    let mut element_line = 1;
    let mut too_large = false;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut at_file_start = true;
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        let mut bytes = buffer;
        if at_file_start {
            at_file_start = false;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let consumed = buffer.len();
        let mut index = 0;
        while index < bytes.len() {
            let byte = bytes[index];
            match phase {
                Phase::InElement => {
                    let ends_scalar = depth == 0
                        && !in_string
                        && (byte == b',' || byte == b']' || byte.is_ascii_whitespace());
                    if ends_scalar {
                        // A bare scalar element ends at the byte after it; look at that byte again.
                        if !deliver(&mut element, element_line, too_large, &mut each) {
                            return Ok(());
                        }
                        phase = Phase::AfterElement;
                        continue;
                    }
                    if !too_large {
                        if element.len() >= max_element_bytes {
                            too_large = true;
                            element = Vec::new();
                        } else {
                            element.push(byte);
                        }
                    }
                    if in_string {
                        if escaped {
                            escaped = false;
                        } else if byte == b'\\' {
                            escaped = true;
                        } else if byte == b'"' {
                            in_string = false;
                        }
                    } else {
                        match byte {
                            b'"' => in_string = true,
                            b'{' | b'[' => depth += 1,
                            b'}' | b']' => {
                                depth = depth.saturating_sub(1);
                                if depth == 0 {
                                    if !deliver(&mut element, element_line, too_large, &mut each) {
                                        return Ok(());
                                    }
                                    phase = if single_object {
                                        Phase::Done
                                    } else {
                                        Phase::AfterElement
                                    };
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ if byte.is_ascii_whitespace() => {}
                Phase::Start if byte == b'[' => phase = Phase::BeforeElement { first: true },
                Phase::Start if byte == b'{' => {
                    single_object = true;
                    phase = Phase::BeforeElement { first: false };
                    continue;
                }
                Phase::BeforeElement { first: true } if byte == b']' => phase = Phase::Done,
                Phase::BeforeElement { .. } if byte != b',' && byte != b']' => {
                    phase = Phase::InElement;
                    element.clear();
                    element_line = line;
                    too_large = false;
                    depth = 0;
                    in_string = false;
                    escaped = false;
                    continue;
                }
                Phase::AfterElement if byte == b',' => {
                    phase = Phase::BeforeElement { first: false }
                }
                Phase::AfterElement if byte == b']' => phase = Phase::Done,
                _ => bail!(
                    "not a JSON array of orders: unexpected `{}` on line {line}",
                    char::from(byte).escape_default()
                ),
            }
            if byte == b'\n' {
                line += 1;
            }
            index += 1;
        }
        input.consume(consumed);
    }
    match phase {
        Phase::Done => Ok(()),
        Phase::Start => bail!("the file is empty: expected a JSON array of orders"),
        _ => bail!("the file ends inside the JSON array (line {line}): it was cut short"),
    }
}

fn deliver(
    element: &mut Vec<u8>,
    line: u64,
    too_large: bool,
    each: &mut impl FnMut(Element<'_>) -> bool,
) -> bool {
    let going_on = if too_large {
        each(Element::TooLarge { line })
    } else {
        each(Element::Bytes {
            line,
            json: element,
        })
    };
    element.clear();
    going_on
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(input: &str, max: usize) -> Result<Vec<(u64, String)>> {
        let mut found = Vec::new();
        // A tiny buffer, so that elements and strings straddle reads.
        let reader = std::io::BufReader::with_capacity(3, input.as_bytes());
        for_each_element(reader, max, |element| {
            found.push(match element {
                Element::Bytes { line, json } => (line, String::from_utf8_lossy(json).into_owned()),
                Element::TooLarge { line } => (line, "<too large>".to_owned()),
            });
            true
        })?;
        Ok(found)
    }

    #[test]
    fn splits_the_elements_with_their_lines() {
        let input = "\u{feff}[\n {\"a\":\"x,]}\\\"\"},\n [1,[2]] ,\r\n 12 , \"s\",null\n]\n";
        assert_eq!(
            elements(input, 100).unwrap(),
            [
                (2, r#"{"a":"x,]}\""}"#.to_owned()),
                (3, "[1,[2]]".to_owned()),
                (4, "12".to_owned()),
                (4, "\"s\"".to_owned()),
                (4, "null".to_owned()),
            ]
        );
    }

    #[test]
    fn a_single_object_and_an_empty_array() {
        assert_eq!(
            elements(" {\"a\":[1]} \n", 100).unwrap(),
            [(1, "{\"a\":[1]}".to_owned())]
        );
        assert!(elements("[ ]", 100).unwrap().is_empty());
    }

    #[test]
    fn an_element_over_the_limit_is_skipped_not_held() {
        assert_eq!(
            elements("[{\"a\":\"0123456789\"},{}]", 8).unwrap(),
            [(1, "<too large>".to_owned()), (1, "{}".to_owned())]
        );
    }

    #[test]
    fn refuses_what_is_not_one_array() {
        for bad in [
            "", "  ", "[{}", "[{},]", "[,{}]", "[{}] x", "{} {}", "x", "[{}}]",
        ] {
            assert!(elements(bad, 100).is_err(), "{bad:?} was accepted");
        }
    }
}

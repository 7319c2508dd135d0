//! Checksums and validity rules that turn "looks like" into "is": they keep order numbers,
//! product codes and random digit strings from being reported.

/// The Luhn (mod 10) check used by payment cards.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

/// Whether a card number (digits only) has a known issuer prefix and a length that issuer uses.
pub fn card_issuer(digits: &[u8]) -> Option<&'static str> {
    let len = digits.len();
    let prefix = |n: usize| -> u32 {
        digits
            .iter()
            .take(n)
            .fold(0, |acc, d| acc * 10 + u32::from(*d))
    };
    let p1 = prefix(1);
    let p2 = prefix(2);
    let p3 = prefix(3);
    let p4 = prefix(4);
    let p6 = prefix(6);
    if p1 == 4 && (len == 16 || len == 19) {
        Some("visa")
    } else if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16 {
        Some("mastercard")
    } else if (p2 == 34 || p2 == 37) && len == 15 {
        Some("amex")
    } else if (p4 == 6011
        || (644..=649).contains(&p3)
        || p2 == 65
        || (622_126..=622_925).contains(&p6))
        && (len == 16 || len == 19)
    {
        Some("discover")
    } else if (3528..=3589).contains(&p4) && (16..=19).contains(&len) {
        Some("jcb")
    } else if ((300..=305).contains(&p3) || p2 == 36 || p2 == 38) && len == 14 {
        Some("diners")
    } else if p2 == 62 && (16..=19).contains(&len) {
        Some("unionpay")
    } else if (p2 == 50 || (56..=58).contains(&p2) || p2 == 67) && (16..=19).contains(&len) {
        Some("maestro")
    } else {
        None
    }
}

/// IBAN lengths by country (ISO 13616 registry, common countries).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VG", 24),
    (b"XK", 20),
];

/// The IBAN length for a country code, if the country uses IBANs.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| code.as_slice() == country)
        .map(|(_, len)| *len)
}

/// ISO 7064 MOD 97-10 over a compact IBAN (uppercase letters and digits, no spaces).
pub fn iban_mod97(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut remainder: u32 = 0;
    for &c in tail.iter().chain(head) {
        match c {
            b'0'..=b'9' => remainder = (remainder * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => {
                let v = u32::from(c - b'A') + 10;
                remainder = (remainder * 100 + v) % 97;
            }
            _ => return false,
        }
    }
    remainder == 1
}

/// US Social Security Number validity: area not 000, 666 or 900–999; group not 00; serial
/// not 0000.
pub fn ssn_valid(area: u32, group: u32, serial: u32) -> bool {
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// German tax identification number (Steuer-ID, 11 digits): no leading zero, in the first ten
/// digits exactly one digit repeats (twice, or three times but not three in a row), and the
/// ISO 7064 MOD 11,10 check digit.
pub fn steuer_id_valid(digits: &[u8]) -> bool {
    if digits.len() != 11 || digits[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for d in &digits[..10] {
        counts[usize::from(*d)] += 1;
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|c| *c > 1).collect();
    if repeated.len() != 1 || !(repeated[0] == 2 || repeated[0] == 3) {
        return false;
    }
    if repeated[0] == 3
        && digits[..10]
            .windows(3)
            .any(|w| w[0] == w[1] && w[1] == w[2])
    {
        return false;
    }
    let mut product = 10u32;
    for d in &digits[..10] {
        let mut sum = (u32::from(*d) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let mut check = 11 - product;
    if check == 10 {
        check = 0;
    }
    check == u32::from(digits[10])
}

/// UK National Insurance number prefix and suffix rules (HMRC).
pub fn nino_valid(letters: [u8; 2], suffix: u8) -> bool {
    let [a, b] = letters;
    let first_ok = a.is_ascii_uppercase() && !b"DFIQUV".contains(&a);
    let second_ok = b.is_ascii_uppercase() && !b"DFIOQUV".contains(&b);
    let banned = [*b"BG", *b"GB", *b"NK", *b"KN", *b"TN", *b"NT", *b"ZZ"];
    first_ok && second_ok && !banned.contains(&letters) && (b'A'..=b'D').contains(&suffix)
}

/// Shannon entropy in bits per character.
pub fn entropy(text: &[u8]) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in text {
        counts[usize::from(*b)] += 1;
    }
    let len = text.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect()
    }

    #[test]
    fn luhn_accepts_test_cards_and_rejects_typos() {
        for card in [
            "4111111111111111",
            "5500005555555559",
            "378282246310005",
            "6011111111111117",
        ] {
            assert!(luhn(&digits(card)), "{card}");
            assert!(card_issuer(&digits(card)).is_some(), "{card}");
        }
        assert!(!luhn(&digits("4111111111111112")));
        assert_eq!(card_issuer(&digits("9111111111111111")), None);
    }

    #[test]
    fn iban_checks() {
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(!iban_mod97(b"DE89370400440532013001"));
        assert_eq!(iban_length(b"DE"), Some(22));
        assert_eq!(iban_length(b"US"), None);
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn_valid(123, 45, 6789));
        assert!(!ssn_valid(0, 45, 6789));
        assert!(!ssn_valid(666, 45, 6789));
        assert!(!ssn_valid(900, 45, 6789));
        assert!(!ssn_valid(123, 0, 6789));
        assert!(!ssn_valid(123, 45, 0));
    }

    #[test]
    fn steuer_id_checks() {
        // Published test numbers of the German Federal Central Tax Office format.
        assert!(steuer_id_valid(&digits("86095742719")));
        assert!(steuer_id_valid(&digits("47036892816")));
        assert!(
            !steuer_id_valid(&digits("86095742718")),
            "wrong check digit"
        );
        assert!(
            !steuer_id_valid(&digits("12345678903")),
            "no repeated digit"
        );
        assert!(!steuer_id_valid(&digits("06095742719")), "leading zero");
    }

    #[test]
    fn nino_rules() {
        assert!(nino_valid(*b"AB", b'C'));
        assert!(!nino_valid(*b"DA", b'A'), "D not allowed first");
        assert!(!nino_valid(*b"AO", b'A'), "O not allowed second");
        assert!(!nino_valid(*b"GB", b'A'), "banned prefix");
        assert!(!nino_valid(*b"AB", b'E'), "suffix A-D");
    }

    #[test]
    fn entropy_separates_tokens_from_words() {
        assert!(entropy(b"aaaaaaaaaaaaaaaa") < 0.1);
        assert!(entropy(b"correcthorse") < 3.5);
        assert!(entropy(b"8fK2qLx9Zp3VbT7wYc1R") > 4.0);
    }
}

//! A sentence in both languages of the roster: a breach is worded once, where it is found, in
//! English and in Chinese side by side, so the console's Chinese page and the CLI's `--lang zh`
//! never fall back to English and the two texts cannot drift apart in separate tables.
//!
//! Leaves out: labels of tables and files (`export::Lang`'s own words).

use crate::export::Lang;

/// The same sentence in English and in Chinese.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Words {
    /// English: the JSON contract's `detail`, and what the tests read.
    pub en: String,
    /// Simplified Chinese.
    pub zh: String,
}

impl Words {
    /// A sentence from its two texts.
    pub fn new(en: String, zh: String) -> Words {
        Words { en, zh }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }

    /// "`self`: `rest`", with each language's colon.
    pub fn colon(&self, rest: &Words) -> Words {
        Words::new(format!("{}: {}", self.en, rest.en), format!("{}：{}", self.zh, rest.zh))
    }

    /// The parts joined by "; " in English and "；" in Chinese.
    pub fn join(parts: &[Words]) -> Words {
        let en: Vec<&str> = parts.iter().map(|w| w.en.as_str()).collect();
        let zh: Vec<&str> = parts.iter().map(|w| w.zh.as_str()).collect();
        Words::new(en.join("; "), zh.join("；"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_keeps_its_own_punctuation() {
        let when = Words::new("Mon 03-02".into(), "周一 03-02".into());
        let causes = Words::join(&[
            Words::new("1 at lunch".into(), "1 人在午餐".into()),
            Words::new("on leave: guo".into(), "请假：guo".into()),
        ]);
        let line = when.colon(&causes);
        assert_eq!(line.get(Lang::En), "Mon 03-02: 1 at lunch; on leave: guo");
        assert_eq!(line.get(Lang::Zh), "周一 03-02：1 人在午餐；请假：guo");
    }
}

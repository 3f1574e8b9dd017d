//! SNS message constraints shared by the handlers that publish.

/// SNS's limit on `Subject` (<https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>:
/// ASCII, no line breaks or control characters, "less than 100 characters").
pub const MAX_SUBJECT_CHARS: usize = 99;

/// Builds an SNS-safe subject from free text: non-ASCII characters become
/// `?`, whitespace and control characters become a single space, and text
/// over the limit is cut with `...` (cutting ASCII cannot split a character).
pub fn sns_subject(text: &str) -> String {
    let mut subject = String::with_capacity(text.len().min(MAX_SUBJECT_CHARS));
    let mut last_was_space = true; // also drops leading whitespace
    for character in text.chars() {
        let replacement = if character.is_whitespace() || character.is_control() {
            ' '
        } else if character.is_ascii() {
            character
        } else {
            '?'
        };
        if replacement == ' ' {
            if last_was_space {
                continue;
            }
            last_was_space = true;
        } else {
            last_was_space = false;
        }
        subject.push(replacement);
    }
    let subject = subject.trim_end().to_owned();
    if subject.is_empty() {
        return "Notification".to_owned();
    }
    if subject.len() <= MAX_SUBJECT_CHARS {
        return subject;
    }
    format!("{}...", subject[..MAX_SUBJECT_CHARS - 3].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_ascii_single_line_and_at_most_99_characters() {
        assert_eq!(
            sns_subject("New upload: uploads/ü\nfile\t.txt"),
            "New upload: uploads/? file .txt"
        );
        let long = format!("New upload: uploads/{}", "é".repeat(300));
        let subject = sns_subject(&long);
        assert_eq!(subject.len(), 99);
        assert!(subject.ends_with("..."));
        assert!(subject.is_ascii());
        assert_eq!(sns_subject(&"a".repeat(99)), "a".repeat(99));
        assert_eq!(
            sns_subject(&"a".repeat(100)),
            format!("{}...", "a".repeat(96))
        );
        assert_eq!(sns_subject(" \n "), "Notification");
    }
}

//! Passport photo rules, as a pure function of a DetectFaces response.
//!
//! The types below mirror the documented `DetectFaces` response shape
//! (<https://docs.aws.amazon.com/rekognition/latest/APIReference/API_DetectFaces.html>,
//! `FaceDetail`), so recorded responses (fixtures/*.json) deserialize into
//! them directly; the handler converts the SDK's types into them.

use serde::Deserialize;
use std::fmt::Write as _;

use handler_common::config::{ConfigError, EnvSource};
use upstack_contract::env;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectFacesResponse {
    #[serde(default)]
    pub face_details: Vec<Face>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Face {
    pub bounding_box: Option<BoundingBox>,
    /// Confidence that this is a face, 0-100.
    pub confidence: Option<f32>,
    pub eyes_open: Option<BooleanAttribute>,
    pub sunglasses: Option<BooleanAttribute>,
    pub pose: Option<Pose>,
    pub quality: Option<Quality>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BooleanAttribute {
    pub value: Option<bool>,
    pub confidence: Option<f32>,
}

/// Ratios of the image's width and height.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundingBox {
    pub width: Option<f32>,
    pub height: Option<f32>,
    pub left: Option<f32>,
    pub top: Option<f32>,
}

/// Degrees, -180..180.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pose {
    pub roll: Option<f32>,
    pub yaw: Option<f32>,
    pub pitch: Option<f32>,
}

/// 0-100, higher is brighter / sharper.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Quality {
    pub brightness: Option<f32>,
    pub sharpness: Option<f32>,
}

/// Thresholds; every one comes from an environment variable with the
/// documented default.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// `PHOTO_MIN_CONFIDENCE` (default 90): face detection confidence.
    pub min_confidence: f32,
    /// `PHOTO_MIN_EYES_OPEN_CONFIDENCE` (default 80): confidence that eyes are open.
    pub min_eyes_open_confidence: f32,
    /// `PHOTO_MAX_YAW` (default 15), `PHOTO_MAX_PITCH` (default 15),
    /// `PHOTO_MAX_ROLL` (default 10): absolute degrees.
    pub max_yaw: f32,
    pub max_pitch: f32,
    pub max_roll: f32,
    /// `PHOTO_MIN_FACE_AREA` (default 0.10): bounding box area as a fraction of the image.
    pub min_face_area: f32,
    /// `PHOTO_MIN_BRIGHTNESS` (default 40), `PHOTO_MIN_SHARPNESS` (default 30).
    pub min_brightness: f32,
    pub min_sharpness: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_confidence: 90.0,
            min_eyes_open_confidence: 80.0,
            max_yaw: 15.0,
            max_pitch: 15.0,
            max_roll: 10.0,
            min_face_area: 0.10,
            min_brightness: 40.0,
            min_sharpness: 30.0,
        }
    }
}

impl Thresholds {
    pub fn from_env(source: &EnvSource<'_>) -> Result<Self, ConfigError> {
        let defaults = Thresholds::default();
        let value = |name: &str, default: f32, low: f32, high: f32| -> Result<f32, ConfigError> {
            let parsed: f32 = source.parsed_or(name, default)?;
            if !(low..=high).contains(&parsed) {
                return Err(ConfigError::Invalid {
                    name: name.to_owned(),
                    value: parsed.to_string(),
                    reason: format!("must be between {low} and {high}"),
                });
            }
            Ok(parsed)
        };
        Ok(Thresholds {
            min_confidence: value(
                env::PHOTO_MIN_CONFIDENCE,
                defaults.min_confidence,
                0.0,
                100.0,
            )?,
            min_eyes_open_confidence: value(
                env::PHOTO_MIN_EYES_OPEN_CONFIDENCE,
                defaults.min_eyes_open_confidence,
                0.0,
                100.0,
            )?,
            max_yaw: value(env::PHOTO_MAX_YAW, defaults.max_yaw, 0.0, 180.0)?,
            max_pitch: value(env::PHOTO_MAX_PITCH, defaults.max_pitch, 0.0, 180.0)?,
            max_roll: value(env::PHOTO_MAX_ROLL, defaults.max_roll, 0.0, 180.0)?,
            min_face_area: value(env::PHOTO_MIN_FACE_AREA, defaults.min_face_area, 0.0, 1.0)?,
            min_brightness: value(
                env::PHOTO_MIN_BRIGHTNESS,
                defaults.min_brightness,
                0.0,
                100.0,
            )?,
            min_sharpness: value(env::PHOTO_MIN_SHARPNESS, defaults.min_sharpness, 0.0, 100.0)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    pub face_count: usize,
    /// Every rule that failed, in rule order; empty when passed.
    pub reasons: Vec<String>,
}

/// Applies every rule and collects every failure (a user fixing a photo
/// wants the whole list at once). A missing attribute fails its rule: a
/// photo is only accepted on evidence.
pub fn evaluate(faces: &[Face], limits: &Thresholds) -> Verdict {
    let mut reasons = Vec::new();
    let face = match faces {
        [] => {
            reasons.push("no face detected".to_owned());
            None
        }
        [only] => Some(only),
        many => {
            reasons.push(format!(
                "{} faces detected, exactly one is required",
                many.len()
            ));
            None
        }
    };
    if let Some(face) = face {
        check_face(face, limits, &mut reasons);
    }
    Verdict {
        passed: reasons.is_empty(),
        face_count: faces.len(),
        reasons,
    }
}

fn check_face(face: &Face, limits: &Thresholds, reasons: &mut Vec<String>) {
    let mut fail = |text: String| reasons.push(text);
    match face.confidence {
        Some(confidence) if confidence >= limits.min_confidence => {}
        Some(confidence) => fail(format!(
            "face confidence {confidence:.1} is below {:.1}",
            limits.min_confidence
        )),
        None => fail("face confidence missing".to_owned()),
    }
    match face
        .eyes_open
        .as_ref()
        .map(|eyes| (eyes.value, eyes.confidence))
    {
        Some((Some(true), Some(confidence))) if confidence >= limits.min_eyes_open_confidence => {}
        Some((Some(true), confidence)) => fail(format!(
            "eyes open confidence {:.1} is below {:.1}",
            confidence.unwrap_or(0.0),
            limits.min_eyes_open_confidence
        )),
        Some((Some(false), confidence)) => fail(format!(
            "eyes are closed (confidence {:.1})",
            confidence.unwrap_or(0.0)
        )),
        _ => fail("eyes open attribute missing".to_owned()),
    }
    match face.sunglasses.as_ref().and_then(|glasses| glasses.value) {
        Some(false) => {}
        Some(true) => fail(format!(
            "wearing sunglasses (confidence {:.1})",
            face.sunglasses
                .as_ref()
                .and_then(|glasses| glasses.confidence)
                .unwrap_or(0.0)
        )),
        None => fail("sunglasses attribute missing".to_owned()),
    }
    match &face.pose {
        Some(pose) => {
            for (name, angle, limit) in [
                ("yaw", pose.yaw, limits.max_yaw),
                ("pitch", pose.pitch, limits.max_pitch),
                ("roll", pose.roll, limits.max_roll),
            ] {
                match angle {
                    Some(angle) if angle.abs() <= limit => {}
                    Some(angle) => fail(format!("head {name} {angle:.1}° exceeds ±{limit:.1}°")),
                    None => fail(format!("head {name} missing")),
                }
            }
        }
        None => fail("head pose missing".to_owned()),
    }
    match face
        .bounding_box
        .as_ref()
        .and_then(|bounds| Some(bounds.width? * bounds.height?))
    {
        Some(area) if area >= limits.min_face_area => {}
        Some(area) => fail(format!(
            "face covers {:.1}% of the image, at least {:.1}% is required",
            area * 100.0,
            limits.min_face_area * 100.0
        )),
        None => fail("face bounding box missing".to_owned()),
    }
    let quality = face.quality.as_ref();
    for (name, value, floor) in [
        (
            "brightness",
            quality.and_then(|q| q.brightness),
            limits.min_brightness,
        ),
        (
            "sharpness",
            quality.and_then(|q| q.sharpness),
            limits.min_sharpness,
        ),
    ] {
        match value {
            Some(value) if value >= floor => {}
            Some(value) => fail(format!("{name} {value:.1} is below {floor:.1}")),
            None => fail(format!("{name} missing")),
        }
    }
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        if self.passed { "PASSED" } else { "REJECTED" }
    }

    /// Multi-line text for the notification body.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "Verdict: {} ({} face(s) detected)\n",
            self.label(),
            self.face_count
        );
        for reason in &self.reasons {
            let _ = writeln!(text, "- {reason}");
        }
        text
    }
}

/// JPEG (`FF D8 FF`) or PNG (`89 50 4E 47 0D 0A 1A 0A`): the formats
/// DetectFaces accepts.
pub fn image_kind(first_bytes: &[u8]) -> Option<&'static str> {
    if first_bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if first_bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("png")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(json: &str) -> Vec<Face> {
        serde_json::from_str::<DetectFacesResponse>(json)
            .unwrap()
            .face_details
    }

    #[test]
    fn a_good_passport_photo_passes() {
        let verdict = evaluate(
            &fixture(include_str!("../fixtures/passport_ok.json")),
            &Thresholds::default(),
        );
        assert_eq!(
            verdict,
            Verdict {
                passed: true,
                face_count: 1,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn two_faces_fail_on_the_count_alone() {
        let verdict = evaluate(
            &fixture(include_str!("../fixtures/two_faces.json")),
            &Thresholds::default(),
        );
        assert_eq!(
            verdict.reasons,
            ["2 faces detected, exactly one is required"]
        );
        assert!(!verdict.passed);
    }

    #[test]
    fn no_face_fails() {
        let verdict = evaluate(
            &fixture(include_str!("../fixtures/no_face.json")),
            &Thresholds::default(),
        );
        assert_eq!(verdict.reasons, ["no face detected"]);
    }

    #[test]
    fn every_failed_rule_is_reported() {
        let verdict = evaluate(
            &fixture(include_str!("../fixtures/sunglasses_tilted_dark.json")),
            &Thresholds::default(),
        );
        assert_eq!(
            verdict.reasons,
            [
                "face confidence 84.0 is below 90.0",
                "eyes are closed (confidence 88.0)",
                "wearing sunglasses (confidence 96.3)",
                "head yaw 31.0° exceeds ±15.0°",
                "head pitch -18.2° exceeds ±15.0°",
                "head roll -14.5° exceeds ±10.0°",
                "face covers 4.5% of the image, at least 10.0% is required",
                "brightness 22.4 is below 40.0",
                "sharpness 12.9 is below 30.0",
            ]
        );
    }

    #[test]
    fn thresholds_are_configurable_and_validated() {
        let relaxed = Thresholds {
            max_yaw: 40.0,
            max_pitch: 20.0,
            max_roll: 20.0,
            ..Thresholds::default()
        };
        let verdict = evaluate(
            &fixture(include_str!("../fixtures/sunglasses_tilted_dark.json")),
            &relaxed,
        );
        assert!(
            !verdict
                .reasons
                .iter()
                .any(|reason| reason.starts_with("head"))
        );

        let env = EnvSource::from_pairs(&[("PHOTO_MAX_YAW", "20"), ("PHOTO_MIN_FACE_AREA", "1.5")]);
        let error = Thresholds::from_env(&env).unwrap_err().to_string();
        assert!(error.contains("PHOTO_MIN_FACE_AREA"), "{error}");
        let env = EnvSource::from_pairs(&[("PHOTO_MAX_YAW", "20")]);
        assert_eq!(Thresholds::from_env(&env).unwrap().max_yaw, 20.0);
    }

    #[test]
    fn missing_attributes_fail_their_rules() {
        let verdict = evaluate(&[Face::default()], &Thresholds::default());
        assert_eq!(verdict.reasons.len(), 7);
        assert!(
            verdict
                .reasons
                .contains(&"sunglasses attribute missing".to_owned())
        );
    }

    #[test]
    fn image_magic_is_recognised() {
        assert_eq!(image_kind(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some("jpeg"));
        assert_eq!(image_kind(b"\x89PNG\r\n\x1a\n...."), Some("png"));
        assert_eq!(image_kind(b"GIF89a"), None);
        assert_eq!(image_kind(b""), None);
    }
}

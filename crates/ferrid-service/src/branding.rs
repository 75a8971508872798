//! The branding of the sign-in, consent and account pages: the rules for
//! a product name, an accent colour (white text on it must stay legible:
//! WCAG 2.1 contrast of 4.5:1) and a logo (PNG or JPEG, small), shared by
//! every admin surface.

use ferrid_store::{Branding, Store, StoreError};

use crate::audit::{Event, EventKind, Outcome};

/// Longest product name, characters.
pub const MAX_PRODUCT_NAME: usize = 60;
/// Largest logo, bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// The accent colour of the default look.
pub const DEFAULT_ACCENT: &str = "#b7410e";
/// The product name of the default look.
pub const DEFAULT_PRODUCT_NAME: &str = "ferrid";
/// Least contrast of white text on the accent colour (WCAG 2.1 AA for
/// normal text).
pub const MIN_CONTRAST: f64 = 4.5;

/// Which setting an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The product name.
    ProductName,
    /// The accent colour.
    AccentColour,
    /// The logo.
    Logo,
}

/// Why a branding is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BrandingError {
    /// Empty, too long, or with control characters.
    #[error(
        "the product name must be 1 to {MAX_PRODUCT_NAME} characters without control characters"
    )]
    ProductName,
    /// Not `#rrggbb`.
    #[error("the accent colour must be written as #rrggbb, e.g. #1a5fb4")]
    ColourSyntax,
    /// White text on it would be hard to read.
    #[error("white text on {colour} has a contrast of {contrast:.1}:1; choose a darker colour (at least {MIN_CONTRAST}:1)")]
    Contrast {
        /// The colour given.
        colour: String,
        /// Its contrast with white.
        contrast: f64,
    },
    /// Not a PNG or JPEG image.
    #[error("the logo must be a PNG or JPEG image")]
    LogoType,
    /// Too big.
    #[error("the logo must be at most {} KB", MAX_LOGO_BYTES / 1024)]
    LogoSize,
}

impl BrandingError {
    /// The setting the error is about.
    pub fn field(&self) -> Field {
        match self {
            BrandingError::ProductName => Field::ProductName,
            BrandingError::ColourSyntax | BrandingError::Contrast { .. } => Field::AccentColour,
            BrandingError::LogoType | BrandingError::LogoSize => Field::Logo,
        }
    }
}

/// Why saving a branding failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// A rule is broken.
    #[error(transparent)]
    Invalid(#[from] BrandingError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the logo is to become.
#[derive(Debug, Clone)]
pub enum LogoChange {
    /// Keep the current one (or none).
    Keep,
    /// Remove it.
    Remove,
    /// Replace it with these bytes.
    Replace(Vec<u8>),
}

/// The relative luminance of an sRGB colour (WCAG 2.1).
fn luminance(red: u8, green: u8, blue: u8) -> f64 {
    let channel = |value: u8| {
        let value = f64::from(value) / 255.0;
        if value <= 0.039_28 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
}

/// Checks an accent colour; returns it in lower case.
pub fn check_accent(colour: &str) -> Result<String, BrandingError> {
    let colour = colour.trim().to_ascii_lowercase();
    let hex = colour
        .strip_prefix('#')
        .filter(|hex| hex.len() == 6 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .ok_or(BrandingError::ColourSyntax)?;
    let byte = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).unwrap_or(0);
    let contrast = 1.05 / (luminance(byte(0), byte(2), byte(4)) + 0.05);
    if contrast < MIN_CONTRAST {
        return Err(BrandingError::Contrast { colour, contrast });
    }
    Ok(colour)
}

/// The media type of a logo, by its first bytes.
pub fn logo_type(bytes: &[u8]) -> Result<&'static str, BrandingError> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(BrandingError::LogoSize);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Ok("image/jpeg")
    } else {
        Err(BrandingError::LogoType)
    }
}

/// The stored branding, or the default look.
pub fn current(store: &Store) -> Result<Branding, StoreError> {
    Ok(store.branding()?.unwrap_or_else(|| Branding {
        product_name: DEFAULT_PRODUCT_NAME.to_owned(),
        logo: None,
        logo_type: None,
        accent_colour: DEFAULT_ACCENT.to_owned(),
        updated_at: 0,
    }))
}

/// Checks and saves a branding, done by `actor`; audited.
pub fn save(
    store: &Store,
    product_name: &str,
    accent_colour: &str,
    logo: LogoChange,
    actor: &str,
    now: i64,
) -> Result<Branding, SaveError> {
    let product_name = product_name.trim();
    if product_name.is_empty()
        || product_name.chars().count() > MAX_PRODUCT_NAME
        || product_name.chars().any(char::is_control)
    {
        return Err(BrandingError::ProductName.into());
    }
    let accent_colour = check_accent(accent_colour)?;
    let stored = current(store)?;
    let (logo, logo_type) = match logo {
        LogoChange::Keep => (stored.logo, stored.logo_type),
        LogoChange::Remove => (None, None),
        LogoChange::Replace(bytes) => {
            let media_type = logo_type(&bytes)?;
            (Some(bytes), Some(media_type.to_owned()))
        }
    };
    let branding = Branding {
        product_name: product_name.to_owned(),
        logo,
        logo_type,
        accent_colour,
        updated_at: now,
    };
    store.set_branding(&branding, now)?;
    Event::new(EventKind::BrandingUpdate, Outcome::Success)
        .actor(actor)
        .detail(format!(
            "name {}, accent {}, logo {}",
            branding.product_name,
            branding.accent_colour,
            if branding.logo.is_some() {
                "set"
            } else {
                "none"
            }
        ))
        .write(store, now)?;
    Ok(branding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accent_needs_contrast_with_white_text() {
        assert_eq!(check_accent("#B7410E").unwrap(), "#b7410e");
        assert_eq!(check_accent("#1a5fb4").unwrap(), "#1a5fb4");
        assert!(matches!(
            check_accent("#ffff00"),
            Err(BrandingError::Contrast { .. })
        ));
        assert_eq!(check_accent("red"), Err(BrandingError::ColourSyntax));
        assert_eq!(check_accent("#12345"), Err(BrandingError::ColourSyntax));
        assert_eq!(check_accent("#gggggg"), Err(BrandingError::ColourSyntax));
    }

    #[test]
    fn logos_are_png_or_jpeg_and_small() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(logo_type(&[0xff, 0xd8, 0xff, 0xe0]).unwrap(), "image/jpeg");
        assert_eq!(
            logo_type(b"<svg onload=alert(1)>"),
            Err(BrandingError::LogoType)
        );
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert_eq!(logo_type(&big), Err(BrandingError::LogoSize));
    }
}

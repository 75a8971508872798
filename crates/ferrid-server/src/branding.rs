//! The branding every page shows, per node: read from the database at
//! start, on every background tick, and at once after this node saves a
//! change, so all nodes show the same within one key refresh interval.

use std::sync::{Arc, RwLock};

use ferrid_pages::Brand;
use ferrid_store::{Branding, Store, StoreResult};

/// The branding as this node last read it.
#[derive(Debug, Default)]
pub struct CurrentBranding(RwLock<Option<Arc<Branding>>>);

impl CurrentBranding {
    /// Reads the stored branding.
    pub fn reload(&self, store: &Store) -> StoreResult<()> {
        let stored = store.branding()?.map(Arc::new);
        if let Ok(mut current) = self.0.write() {
            *current = stored;
        }
        Ok(())
    }

    /// Replaces it with one just saved.
    pub fn set(&self, branding: Branding) {
        if let Ok(mut current) = self.0.write() {
            *current = Some(Arc::new(branding));
        }
    }

    /// The stored branding, if an admin set one.
    pub fn get(&self) -> Option<Arc<Branding>> {
        self.0.read().ok().and_then(|current| current.clone())
    }

    /// What the page templates show, if an admin set a branding.
    pub fn brand(&self) -> Option<Brand> {
        self.get().map(|branding| Brand {
            product_name: branding.product_name.clone(),
            has_logo: branding.logo.is_some(),
            version: branding.updated_at,
        })
    }

    /// The stylesheet that applies the accent colour (after ferrid.css).
    pub fn stylesheet(&self) -> String {
        let accent = self.get().map_or_else(
            || ferrid_service::branding::DEFAULT_ACCENT.to_owned(),
            |branding| branding.accent_colour.clone(),
        );
        // The colour was checked as #rrggbb when saved: nothing else can
        // reach the stylesheet.
        format!(":root {{ --accent: {accent}; }}\n")
    }
}

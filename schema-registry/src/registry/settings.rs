//! Configuration and mode: `/config` and `/mode`, global and per subject.

use super::*;

impl Registry {
    /// `GET /config[/{subject}]`.
    pub fn get_config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<EffectiveConfig> {
        let image = self.image.read();
        match subject {
            None => Ok(self.effective_config(&image, None)),
            Some(s) => {
                let s = normalize_subject(s);
                match image.config(&s) {
                    Some(c) if c.compatibility_level.is_some() || c.normalize.is_some() => {
                        Ok(self.to_effective(c, &image, Some(&s)))
                    }
                    _ if default_to_global => Ok(self.effective_config(&image, Some(&s))),
                    _ => Err(Error::SubjectCompatibilityNotConfigured(s)),
                }
            }
        }
    }

    /// `GET /mode[/{subject}]`.
    pub fn get_mode(&self, subject: Option<&str>, default_to_global: bool) -> Result<Mode> {
        let image = self.image.read();
        match subject {
            None => Ok(image.mode("").unwrap_or_default()),
            Some(s) => {
                let s = normalize_subject(s);
                match image.mode(&s) {
                    Some(m) => Ok(m),
                    None if default_to_global => Ok(effective_mode(&image, &s)),
                    None => Err(Error::SubjectModeNotConfigured(s)),
                }
            }
        }
    }

    /// `PUT /config[/{subject}]`.
    pub async fn set_config(
        &self,
        subject: Option<&str>,
        level: Option<&str>,
        normalize: Option<bool>,
    ) -> Result<EffectiveConfig> {
        let level = match level {
            Some(l) => Some(
                l.parse::<CompatibilityLevel>()
                    .map_err(|_| Error::InvalidCompatibilityLevel)?,
            ),
            None => None,
        };
        if level.is_none() && normalize.is_none() {
            return Err(Error::InvalidCompatibilityLevel);
        }
        let subject = subject.map(normalize_subject);
        if let Some(s) = &subject {
            validate_subject(s)?;
        }
        let _guard = self.write_lock.lock().await;
        self.catch_up().await?;
        let value = {
            let image = self.image.read();
            let current = image
                .config(subject.as_deref().unwrap_or(""))
                .cloned()
                .unwrap_or_default();
            ConfigValue {
                subject: subject.clone(),
                compatibility_level: level.map(|l| l.to_string()).or(current.compatibility_level),
                normalize: normalize.or(current.normalize),
            }
        };
        let record = Record::new(
            Key::Config {
                subject: subject.clone(),
            },
            &value,
        );
        self.store.put(&[record]).await?;
        let image = self.image.read();
        Ok(self.effective_config(&image, subject.as_deref()))
    }

    /// `DELETE /config[/{subject}]`: returns the configuration that was removed.
    pub async fn delete_config(&self, subject: Option<&str>) -> Result<EffectiveConfig> {
        let subject = subject.map(normalize_subject);
        let _guard = self.write_lock.lock().await;
        self.catch_up().await?;
        let previous = {
            let image = self.image.read();
            if let Some(s) = &subject {
                if image.config(s).is_none() && !image.has_subject(s) {
                    return Err(Error::SubjectNotFound(s.clone()));
                }
            }
            self.effective_config(&image, subject.as_deref())
        };
        self.store
            .put(&[Record::tombstone(Key::Config { subject })])
            .await?;
        Ok(previous)
    }

    /// `PUT /mode[/{subject}]`.
    pub async fn set_mode(&self, subject: Option<&str>, mode: &str, force: bool) -> Result<Mode> {
        if !self.config.mode_mutability {
            return Err(Error::OperationNotPermitted(
                "Mode changes are not allowed".to_string(),
            ));
        }
        let mode = Mode::parse(mode).ok_or(Error::InvalidMode)?;
        let subject = subject.map(normalize_subject);
        if let Some(s) = &subject {
            validate_subject(s)?;
        }
        let _guard = self.write_lock.lock().await;
        self.catch_up().await?;
        {
            let image = self.image.read();
            if mode == Mode::Import && !force {
                let has_schemas = match &subject {
                    None => !image.is_empty(),
                    Some(s) => image.has_subject(s),
                };
                if has_schemas {
                    return Err(Error::OperationNotPermitted(
                        "Cannot import since found existing subjects".to_string(),
                    ));
                }
            }
        }
        let record = Record::new(
            Key::Mode {
                subject: subject.clone(),
            },
            &ModeValue {
                subject,
                mode: mode.as_str().to_string(),
            },
        );
        self.store.put(&[record]).await?;
        Ok(mode)
    }

    /// `DELETE /mode[/{subject}]`: returns the mode that was removed.
    pub async fn delete_mode(&self, subject: Option<&str>) -> Result<Mode> {
        if !self.config.mode_mutability {
            return Err(Error::OperationNotPermitted(
                "Mode changes are not allowed".to_string(),
            ));
        }
        let subject = subject.map(normalize_subject);
        let _guard = self.write_lock.lock().await;
        self.catch_up().await?;
        let previous = {
            let image = self.image.read();
            match &subject {
                None => image.mode("").unwrap_or_default(),
                Some(s) => match image.mode(s) {
                    Some(m) => m,
                    None if image.has_subject(s) => effective_mode(&image, s),
                    None => return Err(Error::SubjectNotFound(s.clone())),
                },
            }
        };
        self.store
            .put(&[Record::tombstone(Key::Mode { subject })])
            .await?;
        Ok(previous)
    }
}

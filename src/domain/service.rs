//! The service types a usage record can have.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceType {
    Chat,
    Completion,
    Embedding,
    Vision,
    Translation,
    Speech,
    Image,
}

impl ServiceType {
    pub const ALL: [ServiceType; 7] = [
        ServiceType::Chat,
        ServiceType::Completion,
        ServiceType::Embedding,
        ServiceType::Vision,
        ServiceType::Translation,
        ServiceType::Speech,
        ServiceType::Image,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Chat => "chat",
            ServiceType::Completion => "completion",
            ServiceType::Embedding => "embedding",
            ServiceType::Vision => "vision",
            ServiceType::Translation => "translation",
            ServiceType::Speech => "speech",
            ServiceType::Image => "image",
        }
    }

    /// Human label for dashboards.
    pub fn label(self) -> &'static str {
        match self {
            ServiceType::Chat => "Chat",
            ServiceType::Completion => "Completion",
            ServiceType::Embedding => "Embedding",
            ServiceType::Vision => "Vision",
            ServiceType::Translation => "Translation",
            ServiceType::Speech => "Speech",
            ServiceType::Image => "Image",
        }
    }

    /// Specialized services are not priced per token: they cost 0 unless the
    /// caller reports a cost.
    pub fn is_specialized(self) -> bool {
        matches!(
            self,
            ServiceType::Translation | ServiceType::Speech | ServiceType::Image
        )
    }

    /// The stable code stored in the database.
    pub fn code(self) -> i16 {
        match self {
            ServiceType::Chat => 1,
            ServiceType::Completion => 2,
            ServiceType::Embedding => 3,
            ServiceType::Vision => 4,
            ServiceType::Translation => 5,
            ServiceType::Speech => 6,
            ServiceType::Image => 7,
        }
    }

    pub fn from_code(code: i16) -> Option<ServiceType> {
        ServiceType::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ServiceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for s in ServiceType::ALL {
            assert_eq!(s.as_str().parse::<ServiceType>(), Ok(s));
            assert_eq!(ServiceType::from_code(s.code()), Some(s));
        }
        assert_eq!("Chat".parse::<ServiceType>(), Err(()));
        assert_eq!(ServiceType::from_code(0), None);
    }

    #[test]
    fn specialized_services() {
        let specialized: Vec<_> = ServiceType::ALL
            .into_iter()
            .filter(|s| s.is_specialized())
            .collect();
        assert_eq!(
            specialized,
            [
                ServiceType::Translation,
                ServiceType::Speech,
                ServiceType::Image
            ]
        );
    }
}

//! Websocket topics: their grammar, who may subscribe to which, and the keys an event is
//! published under.
//!
//! A topic is `<scope>:<scope_id>:<resource>:<resource_id>` as in VoIPBIN
//! (`customer_id:<id>:call:*`): scope `customer_id` or `agent_id`, a resource word
//! (`call`, `flow`, `activeflow`, ...) or `*`, and a resource id or `*`. An event is published
//! under `customer_id:<owner>:<resource>:<id>` and, when it is for an agent (the agent itself
//! or the resource's `owner_id`), under `agent_id:<agent>:<resource>:<id>` too.

use crate::auth::{Identity, Permission};
use std::fmt;
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_svc_timeline::Subject;

/// Whose events a topic selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A customer's resources.
    Customer(Uuid),
    /// Resources for one agent.
    Agent(Uuid),
}

/// A parsed subscription topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Topic {
    /// Whose events.
    pub scope: Scope,
    /// The resource word, `None` for `*`.
    pub resource: Option<String>,
    /// The resource id, `None` for `*`.
    pub id: Option<Uuid>,
}

/// Longest topic text accepted.
const MAX_TOPIC_LEN: usize = 200;

impl Topic {
    /// Parses `<scope>:<scope_id>:<resource>:<resource_id>`; 400 `INVALID_TOPIC` otherwise.
    pub fn parse(text: &str) -> Result<Topic> {
        let bad = |why: &str| {
            Error::invalid_argument(
                "INVALID_TOPIC",
                format!(
                    "topic {:?} {why}; the form is customer_id:<id>:<resource>:<id or *> \
                     or agent_id:<id>:<resource>:<id or *>",
                    text.chars().take(MAX_TOPIC_LEN).collect::<String>()
                ),
            )
        };
        if text.len() > MAX_TOPIC_LEN {
            return Err(bad("is too long"));
        }
        let parts: Vec<&str> = text.split(':').collect();
        let [scope, scope_id, resource, id] = parts[..] else {
            return Err(bad("does not have four parts"));
        };
        let scope_id = Uuid::try_parse(scope_id).map_err(|_| bad("has no valid scope id"))?;
        let scope = match scope {
            "customer_id" => Scope::Customer(scope_id),
            "agent_id" => Scope::Agent(scope_id),
            _ => return Err(bad("has an unknown scope")),
        };
        let resource = match resource {
            "*" => None,
            word if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Some(word.to_owned())
            }
            _ => return Err(bad("has an invalid resource")),
        };
        let id = match id {
            "*" => None,
            id => Some(Uuid::try_parse(id).map_err(|_| bad("has an invalid resource id"))?),
        };
        Ok(Topic {
            scope,
            resource,
            id,
        })
    }

    /// Whether `who` may subscribe: its own customer's topics, its own agent topics, and any
    /// agent topic for a customer admin or manager (events of another customer never reach
    /// it; the hub checks the owner of every event). The super-admin may subscribe to all.
    pub fn authorize(&self, who: &Identity) -> Result<()> {
        if who.is_super_admin() {
            return Ok(());
        }
        let allowed = match self.scope {
            Scope::Customer(c) => {
                c == who.customer_id && who.require(Permission::ADMIN_OR_MANAGER).is_ok()
            }
            Scope::Agent(a) => {
                who.agent_id() == Some(a) || who.require(Permission::ADMIN_OR_MANAGER).is_ok()
            }
        };
        match allowed {
            true => Ok(()),
            false => Err(Error::permission_denied(
                "This credential may not subscribe to this topic.",
            )),
        }
    }

    /// Whether an event published under `key` is selected by this topic.
    pub fn matches(&self, key: &Key) -> bool {
        self.scope == key.scope
            && self.resource.as_deref().is_none_or(|r| r == key.resource)
            && self.id.is_none_or(|id| id == key.id)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Scope::Customer(c) => write!(f, "customer_id:{c}:")?,
            Scope::Agent(a) => write!(f, "agent_id:{a}:")?,
        }
        match &self.resource {
            Some(r) => write!(f, "{r}:")?,
            None => f.write_str("*:")?,
        }
        match self.id {
            Some(id) => write!(f, "{id}"),
            None => f.write_str("*"),
        }
    }
}

/// A key an event is published under: a topic with nothing left open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Whose event.
    pub scope: Scope,
    /// The resource word.
    pub resource: String,
    /// The resource id.
    pub id: Uuid,
}

impl Key {
    /// The keys of an event about `subject`: its customer's, then its agent's if any.
    pub fn of(subject: &Subject) -> Vec<Key> {
        let key = |scope| Key {
            scope,
            resource: subject.resource.clone(),
            id: subject.id,
        };
        let mut keys = vec![key(Scope::Customer(subject.customer_id))];
        if let Some(agent) = subject.agent_id {
            keys.push(key(Scope::Agent(agent)));
        }
        keys
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let topic = Topic {
            scope: self.scope,
            resource: Some(self.resource.clone()),
            id: Some(self.id),
        };
        topic.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Via;

    const C: Uuid = Uuid::from_u128(0xc1);
    const D: Uuid = Uuid::from_u128(0xd1);
    const AGENT: Uuid = Uuid::from_u128(0xa1);
    const R: Uuid = Uuid::from_u128(0xe1);

    fn who(permission: u64, via: Via) -> Identity {
        Identity {
            customer_id: C,
            permission,
            via,
        }
    }

    #[test]
    fn topics_parse_and_print_back() {
        for text in [
            format!("customer_id:{C}:call:*"),
            format!("customer_id:{C}:*:*"),
            format!("agent_id:{AGENT}:call:{R}"),
        ] {
            assert_eq!(Topic::parse(&text).unwrap().to_string(), text);
        }
        for bad in [
            String::new(),
            format!("customer_id:{C}:call"),
            format!("customer:{C}:call:*"),
            "customer_id:nope:call:*".to_owned(),
            format!("customer_id:{C}:ca-ll:*"),
            format!("customer_id:{C}:call:nope"),
            format!("customer_id:{C}:call:*:extra"),
            format!("customer_id:{C}:{}:*", "x".repeat(300)),
        ] {
            let e = Topic::parse(&bad).unwrap_err();
            assert_eq!(e.reason, "INVALID_TOPIC", "{bad}");
        }
    }

    #[test]
    fn a_topic_matches_its_customer_resource_and_id() {
        let key = Key {
            scope: Scope::Customer(C),
            resource: "call".into(),
            id: R,
        };
        let yes = [
            format!("customer_id:{C}:*:*"),
            format!("customer_id:{C}:call:*"),
            format!("customer_id:{C}:call:{R}"),
        ];
        let no = [
            format!("customer_id:{D}:call:*"),
            format!("customer_id:{C}:flow:*"),
            format!("customer_id:{C}:call:{D}"),
            format!("agent_id:{C}:call:*"),
        ];
        for t in yes {
            assert!(Topic::parse(&t).unwrap().matches(&key), "{t}");
        }
        for t in no {
            assert!(!Topic::parse(&t).unwrap().matches(&key), "{t}");
        }
    }

    #[test]
    fn customers_subscribe_to_their_own_topics_and_agents_to_their_own() {
        let key = who(Permission::CUSTOMER_ADMIN, Via::AccessKey { id: R });
        let agent = who(Permission::CUSTOMER_AGENT, Via::Token { agent_id: AGENT });
        let topic = |t: String| Topic::parse(&t).unwrap();
        assert!(topic(format!("customer_id:{C}:call:*"))
            .authorize(&key)
            .is_ok());
        assert!(topic(format!("customer_id:{D}:call:*"))
            .authorize(&key)
            .is_err());
        assert!(topic(format!("agent_id:{AGENT}:*:*"))
            .authorize(&key)
            .is_ok());
        assert!(topic(format!("agent_id:{AGENT}:*:*"))
            .authorize(&agent)
            .is_ok());
        assert!(topic(format!("agent_id:{D}:*:*"))
            .authorize(&agent)
            .is_err());
        assert!(topic(format!("customer_id:{C}:*:*"))
            .authorize(&agent)
            .is_err());
        let root = who(Permission::PROJECT_SUPER_ADMIN, Via::AccessKey { id: R });
        assert!(topic(format!("customer_id:{D}:call:*"))
            .authorize(&root)
            .is_ok());
    }

    #[test]
    fn an_event_for_an_agent_has_a_customer_and_an_agent_key() {
        let subject = Subject {
            resource: "call".into(),
            id: R,
            customer_id: C,
            agent_id: Some(AGENT),
            activeflow_id: None,
        };
        let keys: Vec<String> = Key::of(&subject).iter().map(Key::to_string).collect();
        assert_eq!(
            keys,
            [
                format!("customer_id:{C}:call:{R}"),
                format!("agent_id:{AGENT}:call:{R}")
            ]
        );
    }
}

//! An in-memory image registry: a real backend for tests and embedding.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::list::{select, ListOptions};
use super::ImageRegistry;
use crate::error::{Error, Result};
use crate::image::{Image, ImageId, ImageMember, ImageStatus, MemberStatus, ProjectId};

#[derive(Debug, Default)]
struct State {
    images: HashMap<ImageId, Image>,
    members: BTreeMap<(ImageId, ProjectId), ImageMember>,
}

/// Keeps image records in maps behind one lock.
#[derive(Debug, Default)]
pub struct MemoryImageRegistry {
    state: Mutex<State>,
}

impl MemoryImageRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation is a single insert or remove; a panic cannot leave it half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn image_not_found(id: &ImageId) -> Error {
    Error::not_found(format!("image {id}"))
}

fn member_not_found(id: &ImageId, member: &ProjectId) -> Error {
    Error::not_found(format!("member {member} of image {id}"))
}

impl State {
    fn image_mut(&mut self, id: &ImageId) -> Result<&mut Image> {
        self.images.get_mut(id).ok_or_else(|| image_not_found(id))
    }
}

#[async_trait]
impl ImageRegistry for MemoryImageRegistry {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn create(&self, image: &Image) -> Result<()> {
        let mut st = self.state();
        if st.images.contains_key(&image.id) {
            return Err(Error::already_exists(format!("image {}", image.id)));
        }
        st.images.insert(image.id, image.clone());
        Ok(())
    }

    async fn get(&self, id: &ImageId) -> Result<Image> {
        self.state()
            .images
            .get(id)
            .cloned()
            .ok_or_else(|| image_not_found(id))
    }

    async fn list(&self, opts: &ListOptions) -> Result<Vec<Image>> {
        let st = self.state();
        let project = opts.caller.as_ref().and_then(|c| c.project.as_ref());
        let members: HashMap<ImageId, MemberStatus> = st
            .members
            .values()
            .filter(|m| Some(&m.member) == project)
            .map(|m| (m.image_id, m.status))
            .collect();
        select(st.images.values().cloned(), &members, opts)
    }

    async fn update(&self, image: &Image, expected: ImageStatus) -> Result<()> {
        let mut st = self.state();
        let cur = st.image_mut(&image.id)?;
        if cur.status != expected {
            return Err(Error::conflict(format!(
                "image {} is {}, expected {expected}",
                image.id, cur.status
            )));
        }
        *cur = image.clone();
        Ok(())
    }

    async fn delete(&self, id: &ImageId) -> Result<()> {
        let mut st = self.state();
        st.images.remove(id).ok_or_else(|| image_not_found(id))?;
        st.members.retain(|(img, _), _| img != id);
        Ok(())
    }

    async fn add_member(&self, member: &ImageMember) -> Result<()> {
        let mut st = self.state();
        st.image_mut(&member.image_id)?;
        let key = (member.image_id, member.member.clone());
        if st.members.contains_key(&key) {
            return Err(Error::already_exists(format!(
                "member {} of image {}",
                member.member, member.image_id
            )));
        }
        st.members.insert(key, member.clone());
        Ok(())
    }

    async fn get_member(&self, id: &ImageId, member: &ProjectId) -> Result<ImageMember> {
        self.state()
            .members
            .get(&(*id, member.clone()))
            .cloned()
            .ok_or_else(|| member_not_found(id, member))
    }

    async fn list_members(&self, id: &ImageId) -> Result<Vec<ImageMember>> {
        let mut st = self.state();
        st.image_mut(id)?;
        Ok(st
            .members
            .values()
            .filter(|m| m.image_id == *id)
            .cloned()
            .collect())
    }

    async fn set_member_status(
        &self,
        id: &ImageId,
        member: &ProjectId,
        status: MemberStatus,
        now: u64,
    ) -> Result<ImageMember> {
        let mut st = self.state();
        let m = st
            .members
            .get_mut(&(*id, member.clone()))
            .ok_or_else(|| member_not_found(id, member))?;
        m.status = status;
        m.updated_at = now;
        Ok(m.clone())
    }

    async fn delete_member(&self, id: &ImageId, member: &ProjectId) -> Result<()> {
        self.state()
            .members
            .remove(&(*id, member.clone()))
            .map(|_| ())
            .ok_or_else(|| member_not_found(id, member))
    }

    async fn add_tag(&self, id: &ImageId, tag: &str) -> Result<()> {
        self.state().image_mut(id)?.tags.insert(tag.to_string());
        Ok(())
    }

    async fn delete_tag(&self, id: &ImageId, tag: &str) -> Result<()> {
        if self.state().image_mut(id)?.tags.remove(tag) {
            Ok(())
        } else {
            Err(Error::not_found(format!("tag {tag} of image {id}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_registry_conforms() {
        super::super::conformance::run_all(&MemoryImageRegistry::new()).await;
    }
}

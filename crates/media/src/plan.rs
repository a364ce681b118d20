//! Volume planning (statement 5.2.1.2.1.1, issue "spanning"): one patient per volume; a
//! collection that does not fit is split into several complete File-sets, keeping studies
//! whole where they fit, then series, never splitting an instance.

use crate::profile::SECTOR;

/// What the planner needs of one instance: its place in the hierarchy and its size on disc.
#[derive(Debug, Clone)]
pub struct PlanItem {
    pub study: String,
    pub series: String,
    /// Bytes the instance occupies on the volume, including its share of the DICOMDIR and of
    /// the ISO directory structures (the caller's estimate; see [`item_cost`]).
    pub cost: u64,
}

/// Conservative cost of one file on an ISO 9660 volume plus its DICOMDIR leaf record.
pub fn item_cost(file_size: u64, dicomdir_record_bytes: u64) -> u64 {
    // Data rounded up to whole sectors, a directory record (at most 48 bytes for an 8.3
    // name), its Joliet record (at most 62: the name in UCS-2), and the record in the
    // DICOMDIR.
    file_size.div_ceil(SECTOR) * SECTOR + 48 + 62 + dicomdir_record_bytes
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "instance {index} needs {cost} bytes, more than a whole volume \
         ({capacity} bytes available after fixed content)"
    )]
    InstanceTooLarge {
        index: usize,
        cost: u64,
        capacity: u64,
    },
}

/// Split `items` (already in DICOMDIR order: grouped by study, then series) into volumes of at
/// most `capacity` bytes each, where every volume also carries `per_volume` fixed bytes
/// (DICOMDIR header, web content, viewer, ISO descriptors) and `per_group` bytes for each study
/// and series it holds (their records and folders). Returns the item indices per volume.
/// The last group of `groups`, or a new one made by `make` when `new` (or there is none yet):
/// how a sorted run of items is cut into studies and series.
pub(crate) fn open_group<T>(groups: &mut Vec<T>, new: bool, make: impl FnOnce() -> T) -> &mut T {
    if new || groups.is_empty() {
        groups.push(make());
    }
    let last = groups.len() - 1;
    &mut groups[last]
}

pub fn plan(
    items: &[PlanItem],
    capacity: u64,
    per_volume: u64,
    per_group: u64,
) -> Result<Vec<Vec<usize>>, PlanError> {
    let room = capacity.saturating_sub(per_volume);
    // Groups: studies made of series made of items.
    let mut studies: Vec<Vec<Vec<usize>>> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let new_study = i == 0 || items[i - 1].study != it.study;
        let study = open_group(&mut studies, new_study, Vec::new);
        let new_series = new_study || items[i - 1].series != it.series;
        open_group(study, new_series, Vec::new).push(i);
    }
    let series_cost = |s: &[usize]| per_group + s.iter().map(|&i| items[i].cost).sum::<u64>();
    let study_cost = |st: &[Vec<usize>]| per_group + st.iter().map(|s| series_cost(s)).sum::<u64>();

    let mut volumes: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut used = 0u64;
    let close = |volumes: &mut Vec<Vec<usize>>, current: &mut Vec<usize>, used: &mut u64| {
        if !current.is_empty() {
            volumes.push(std::mem::take(current));
        }
        *used = 0;
    };
    for study in &studies {
        let sc = study_cost(study);
        if used + sc <= room {
            current.extend(study.iter().flatten());
            used += sc;
            continue;
        }
        // A study that fits on an empty volume starts one rather than being split.
        if sc <= room {
            close(&mut volumes, &mut current, &mut used);
            current.extend(study.iter().flatten());
            used = sc;
            continue;
        }
        // Too big for any volume: split by series, then by instance. Each volume that gets a
        // part of the study pays for the study record again.
        for series in study {
            let sec = series_cost(series) + per_group;
            if used + sec <= room {
                current.extend(series);
                used += sec;
                continue;
            }
            if sec <= room {
                close(&mut volumes, &mut current, &mut used);
                current.extend(series);
                used = sec;
                continue;
            }
            for &i in series {
                let c = items[i].cost;
                let group = 2 * per_group;
                if c + group > room {
                    return Err(PlanError::InstanceTooLarge {
                        index: i,
                        cost: c + group,
                        capacity: room,
                    });
                }
                if used + c + group > room {
                    close(&mut volumes, &mut current, &mut used);
                }
                current.push(i);
                used += c + group;
            }
        }
    }
    close(&mut volumes, &mut current, &mut used);
    Ok(volumes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(spec: &[(&str, &str, u64)]) -> Vec<PlanItem> {
        spec.iter()
            .map(|(st, se, c)| PlanItem {
                study: st.to_string(),
                series: se.to_string(),
                cost: *c,
            })
            .collect()
    }

    #[test]
    fn studies_stay_whole_when_they_fit() {
        let it = items(&[
            ("a", "1", 40),
            ("a", "1", 40),
            ("b", "1", 40),
            ("b", "2", 40),
        ]);
        let v = plan(&it, 100, 0, 0).unwrap();
        assert_eq!(v, vec![vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn big_study_splits_by_series_then_instance() {
        let it = items(&[
            ("a", "1", 30),
            ("a", "1", 30),
            ("a", "2", 30),
            ("a", "3", 30),
            ("a", "3", 30),
            ("a", "3", 30),
            ("a", "3", 30),
        ]);
        let v = plan(&it, 100, 0, 0).unwrap();
        let all: Vec<usize> = v.iter().flatten().copied().collect();
        assert_eq!(all, (0..7).collect::<Vec<_>>());
        assert_eq!(v[0], vec![0, 1, 2]);
        for vol in &v {
            assert!(vol.iter().map(|&i| it[i].cost).sum::<u64>() <= 100);
        }
    }

    #[test]
    fn an_instance_larger_than_a_volume_is_an_error() {
        let it = items(&[("a", "1", 300)]);
        assert!(plan(&it, 100, 0, 0).is_err());
    }
}

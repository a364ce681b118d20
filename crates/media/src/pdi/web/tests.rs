use super::budget::{instance_cost, names_are_fixed_width};
use super::pages::instance_block;
use super::{Content, Prepared, Rendered};

fn frames(n: usize) -> Prepared {
    Prepared {
        content: Content::Frames(
            (0..n)
                .map(|_| Rendered {
                    jpeg: vec![0; 5000],
                    width: 1024,
                    height: 700,
                })
                .collect(),
        ),
        number: "12".into(),
    }
}

#[test]
fn names_and_blocks_do_not_depend_on_the_place() {
    assert!(names_are_fixed_width());
    let p = frames(3);
    let a = instance_block(&p, 1, 1);
    assert_eq!(a.len(), instance_block(&p, 9_999_000, 9_999_999).len());
    assert!(a.contains("src=\"F0000001.JPG\"") && a.contains("src=\"F0000003.JPG\""));
    // Shown at most 512 wide, aspect kept.
    assert!(a.contains("width=\"512\" height=\"350\""), "{a}");
}

#[test]
fn an_instance_costs_its_files_in_sectors_and_its_block() {
    let p = frames(2);
    let block = instance_block(&p, 1, 1).len() as u64;
    // 5000 bytes = 3 sectors each, with records and a MANIFEST line.
    assert!(instance_cost(&p) >= block + 2 * 3 * 2048);
    let none = Prepared {
        content: Content::NotShown("x".into()),
        number: String::new(),
    };
    assert_eq!(
        instance_cost(&none),
        instance_block(&none, 1, 1).len() as u64
    );
}

"""Faces keep their identity across frames when the tracker reorders them (tryon.face_identity)."""

from tryon.face_identity import box_iou, match_faces

LEFT = (100, 120, 80, 90)
RIGHT = (400, 110, 85, 95)


def test_reordered_faces_follow_their_boxes():
    # The tracker returned [LEFT, RIGHT] last frame and the same faces, moved a little, reversed now.
    moved = [(RIGHT[0] + 4, RIGHT[1], RIGHT[2], RIGHT[3]), (LEFT[0] - 3, LEFT[1] + 2, LEFT[2], LEFT[3])]
    assert match_faces([LEFT, RIGHT], moved) == [1, 0]


def test_far_box_is_a_new_face_and_empty_inputs():
    assert match_faces([LEFT], [(600, 400, 50, 50)]) == [None]
    assert match_faces([], [LEFT]) == [None]
    assert match_faces([LEFT], []) == []


def test_box_iou_known_values():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == 50 / 150
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_smoothing_follows_the_face_when_the_tracker_swaps_the_order():
    """Two real faces, fed in swapped order every other frame: each face's smoothed, projected bridge
    stays on that face (within a pixel of its own unfiltered projection), never pulled to the other."""
    import cv2
    import numpy as np

    from tests.core_helpers import catalogue_model
    from tests.shared_data import shared_file
    from tryon.pipeline import PipelineOptions, TryOnPipeline

    image = cv2.imread(str(shared_file("faces", "two_people.jpg")))
    with TryOnPipeline(catalogue_model(), PipelineOptions(max_faces=2)) as pipe:
        faces, _ = pipe.track(image, 0.0)
        assert len(faces) == 2
        k = pipe.camera_matrix(image.shape[1], image.shape[0])
        raw = {}
        for face in faces:
            pipe.reset()
            raw[face.bbox] = np.array(pipe.anchors_px(pipe.poses([face], 0.0)[0], k)["bridge"])
        a, b = faces
        assert np.linalg.norm(raw[a.bbox] - raw[b.bbox]) > 50  # a swapped filter would show
        pipe.reset()
        for i in range(12):
            order = [a, b] if i % 2 == 0 else [b, a]
            poses = pipe.poses(order, 33.0 * (i + 1))
            for face, pose in zip(order, poses, strict=True):
                bridge = np.array(pipe.anchors_px(pose, k)["bridge"])
                assert np.linalg.norm(bridge - raw[face.bbox]) < 1.0, (i, face.bbox)

"""Contains all the data models used in inputs/outputs"""

from .acknowledge_input import AcknowledgeInput
from .acknowledged_body import AcknowledgedBody
from .acknowledgement_body import AcknowledgementBody
from .analytics_body import AnalyticsBody
from .analytics_body_report import AnalyticsBodyReport
from .assignment_body import AssignmentBody
from .attribute_report_body import AttributeReportBody
from .audit_attributes_input import AuditAttributesInput
from .audit_attributes_input_attributes import AuditAttributesInputAttributes
from .audit_attributes_stored import AuditAttributesStored
from .audit_entry_body import AuditEntryBody
from .audit_entry_body_details import AuditEntryBodyDetails
from .audit_head_body import AuditHeadBody
from .audit_verify_body import AuditVerifyBody
from .basis_body import BasisBody
from .budget_body import BudgetBody
from .budget_body_per_day import BudgetBodyPerDay
from .budget_body_remaining import BudgetBodyRemaining
from .campaign_body import CampaignBody
from .campaign_decision import CampaignDecision
from .campaign_fairness_body import CampaignFairnessBody
from .campaign_input import CampaignInput
from .campaign_list import CampaignList
from .campaign_outcome_body import CampaignOutcomeBody
from .cap_input import CapInput
from .clause_body import ClauseBody
from .clause_value import ClauseValue
from .consent_bucket_body import ConsentBucketBody
from .consent_current_body import ConsentCurrentBody
from .consent_record_body import ConsentRecordBody
from .consent_state_body import ConsentStateBody
from .consent_stats_body import ConsentStatsBody
from .consent_update import ConsentUpdate
from .consents_body import ConsentsBody
from .contact_body import ContactBody
from .contact_body_contact import ContactBodyContact
from .controller_body import ControllerBody
from .create_experiment_body import CreateExperimentBody
from .created_key_body import CreatedKeyBody
from .data_map_response_200 import DataMapResponse200
from .data_used_body import DataUsedBody
from .data_used_body_events_by_type import DataUsedBodyEventsByType
from .decide_request import DecideRequest
from .decide_response import DecideResponse
from .decided_experiment_body import DecidedExperimentBody
from .decile_body import DecileBody
from .decision_input import DecisionInput
from .disparities_body import DisparitiesBody
from .drop_count_body import DropCountBody
from .dsr_body import DsrBody
from .dsr_body_detail import DsrBodyDetail
from .error_body import ErrorBody
from .error_detail import ErrorDetail
from .event_result import EventResult
from .events_body import EventsBody
from .experiment_body import ExperimentBody
from .experiment_body_definition import ExperimentBodyDefinition
from .experiment_list import ExperimentList
from .experiment_report_response_200 import ExperimentReportResponse200
from .explained_item import ExplainedItem
from .explanation_body import ExplanationBody
from .export_body import ExportBody
from .export_event_body import ExportEventBody
from .export_event_body_properties import ExportEventBodyProperties
from .exposure_body import ExposureBody
from .feedback_body import FeedbackBody
from .feedback_input import FeedbackInput
from .finding import Finding
from .first_bad_body import FirstBadBody
from .flag_body import FlagBody
from .flags_body import FlagsBody
from .group_body import GroupBody
from .group_fairness_body import GroupFairnessBody
from .health import Health
from .inferred_body import InferredBody
from .ingest_response import IngestResponse
from .interest_body import InterestBody
from .interest_removed_body import InterestRemovedBody
from .item_body import ItemBody
from .item_body_attributes import ItemBodyAttributes
from .item_reason import ItemReason
from .item_side_body import ItemSideBody
from .items_upsert import ItemsUpsert
from .key_body import KeyBody
from .keys_body import KeysBody
from .lint_request import LintRequest
from .lint_response import LintResponse
from .membership_body import MembershipBody
from .membership_list import MembershipList
from .new_key_input import NewKeyInput
from .objection_body import ObjectionBody
from .page_body_audit_entry_body import PageBodyAuditEntryBody
from .page_body_audit_entry_body_items_item import PageBodyAuditEntryBodyItemsItem
from .page_body_audit_entry_body_items_item_details import PageBodyAuditEntryBodyItemsItemDetails
from .page_body_consent_record_body import PageBodyConsentRecordBody
from .page_body_consent_record_body_items_item import PageBodyConsentRecordBodyItemsItem
from .page_body_dsr_body import PageBodyDsrBody
from .page_body_dsr_body_items_item import PageBodyDsrBodyItemsItem
from .page_body_dsr_body_items_item_detail import PageBodyDsrBodyItemsItemDetail
from .page_body_item_body import PageBodyItemBody
from .page_body_item_body_items_item import PageBodyItemBodyItemsItem
from .page_body_item_body_items_item_attributes import PageBodyItemBodyItemsItemAttributes
from .page_body_stored_event_body import PageBodyStoredEventBody
from .page_body_stored_event_body_items_item import PageBodyStoredEventBodyItemsItem
from .page_body_stored_event_body_items_item_properties import PageBodyStoredEventBodyItemsItemProperties
from .policy_body import PolicyBody
from .post_identify_data_body import PostIdentifyDataBody
from .post_identify_json_body import PostIdentifyJsonBody
from .post_page_data_body import PostPageDataBody
from .post_page_json_body import PostPageJsonBody
from .post_track_data_body import PostTrackDataBody
from .post_track_json_body import PostTrackJsonBody
from .preferences_body import PreferencesBody
from .preview_body import PreviewBody
from .processing_body import ProcessingBody
from .property_problem import PropertyProblem
from .provided_body import ProvidedBody
from .provided_body_contact import ProvidedBodyContact
from .provider_share_body import ProviderShareBody
from .purpose_body import PurposeBody
from .purpose_consent_body import PurposeConsentBody
from .purpose_state_body import PurposeStateBody
from .purpose_used_body import PurposeUsedBody
from .put_contact_body import PutContactBody
from .receipt import Receipt
from .receipt_check_body import ReceiptCheckBody
from .receipt_deleted import ReceiptDeleted
from .recommendations_body import RecommendationsBody
from .recommended_item import RecommendedItem
from .restriction_body import RestrictionBody
from .revoked_body import RevokedBody
from .rotate_input import RotateInput
from .rotated_key_body import RotatedKeyBody
from .run_body import RunBody
from .run_body_excluded import RunBodyExcluded
from .segment_batch import SegmentBatch
from .segment_body import SegmentBody
from .segment_input import SegmentInput
from .segment_list import SegmentList
from .served_body import ServedBody
from .signal_effect_body import SignalEffectBody
from .signals_input import SignalsInput
from .signals_input_consent_mode_type_0 import SignalsInputConsentModeType0
from .signals_response import SignalsResponse
from .signed_receipt import SignedReceipt
from .similar_body import SimilarBody
from .slot_fairness_body import SlotFairnessBody
from .stored_event_body import StoredEventBody
from .stored_event_body_properties import StoredEventBodyProperties
from .subject_facts_body import SubjectFactsBody
from .subject_facts_input import SubjectFactsInput
from .subject_outcome_body import SubjectOutcomeBody
from .subject_outcomes import SubjectOutcomes
from .subject_token_body import SubjectTokenBody
from .subject_token_request import SubjectTokenRequest
from .time_zone_body import TimeZoneBody
from .token_keys_rotated_body import TokenKeysRotatedBody
from .unsubscribe_form import UnsubscribeForm
from .unsubscribed_body import UnsubscribedBody
from .upsert_result import UpsertResult
from .visitor_session_body import VisitorSessionBody
from .visitor_session_request import VisitorSessionRequest

__all__ = (
    "AcknowledgedBody",
    "AcknowledgeInput",
    "AcknowledgementBody",
    "AnalyticsBody",
    "AnalyticsBodyReport",
    "AssignmentBody",
    "AttributeReportBody",
    "AuditAttributesInput",
    "AuditAttributesInputAttributes",
    "AuditAttributesStored",
    "AuditEntryBody",
    "AuditEntryBodyDetails",
    "AuditHeadBody",
    "AuditVerifyBody",
    "BasisBody",
    "BudgetBody",
    "BudgetBodyPerDay",
    "BudgetBodyRemaining",
    "CampaignBody",
    "CampaignDecision",
    "CampaignFairnessBody",
    "CampaignInput",
    "CampaignList",
    "CampaignOutcomeBody",
    "CapInput",
    "ClauseBody",
    "ClauseValue",
    "ConsentBucketBody",
    "ConsentCurrentBody",
    "ConsentRecordBody",
    "ConsentsBody",
    "ConsentStateBody",
    "ConsentStatsBody",
    "ConsentUpdate",
    "ContactBody",
    "ContactBodyContact",
    "ControllerBody",
    "CreatedKeyBody",
    "CreateExperimentBody",
    "DataMapResponse200",
    "DataUsedBody",
    "DataUsedBodyEventsByType",
    "DecidedExperimentBody",
    "DecideRequest",
    "DecideResponse",
    "DecileBody",
    "DecisionInput",
    "DisparitiesBody",
    "DropCountBody",
    "DsrBody",
    "DsrBodyDetail",
    "ErrorBody",
    "ErrorDetail",
    "EventResult",
    "EventsBody",
    "ExperimentBody",
    "ExperimentBodyDefinition",
    "ExperimentList",
    "ExperimentReportResponse200",
    "ExplainedItem",
    "ExplanationBody",
    "ExportBody",
    "ExportEventBody",
    "ExportEventBodyProperties",
    "ExposureBody",
    "FeedbackBody",
    "FeedbackInput",
    "Finding",
    "FirstBadBody",
    "FlagBody",
    "FlagsBody",
    "GroupBody",
    "GroupFairnessBody",
    "Health",
    "InferredBody",
    "IngestResponse",
    "InterestBody",
    "InterestRemovedBody",
    "ItemBody",
    "ItemBodyAttributes",
    "ItemReason",
    "ItemSideBody",
    "ItemsUpsert",
    "KeyBody",
    "KeysBody",
    "LintRequest",
    "LintResponse",
    "MembershipBody",
    "MembershipList",
    "NewKeyInput",
    "ObjectionBody",
    "PageBodyAuditEntryBody",
    "PageBodyAuditEntryBodyItemsItem",
    "PageBodyAuditEntryBodyItemsItemDetails",
    "PageBodyConsentRecordBody",
    "PageBodyConsentRecordBodyItemsItem",
    "PageBodyDsrBody",
    "PageBodyDsrBodyItemsItem",
    "PageBodyDsrBodyItemsItemDetail",
    "PageBodyItemBody",
    "PageBodyItemBodyItemsItem",
    "PageBodyItemBodyItemsItemAttributes",
    "PageBodyStoredEventBody",
    "PageBodyStoredEventBodyItemsItem",
    "PageBodyStoredEventBodyItemsItemProperties",
    "PolicyBody",
    "PostIdentifyDataBody",
    "PostIdentifyJsonBody",
    "PostPageDataBody",
    "PostPageJsonBody",
    "PostTrackDataBody",
    "PostTrackJsonBody",
    "PreferencesBody",
    "PreviewBody",
    "ProcessingBody",
    "PropertyProblem",
    "ProvidedBody",
    "ProvidedBodyContact",
    "ProviderShareBody",
    "PurposeBody",
    "PurposeConsentBody",
    "PurposeStateBody",
    "PurposeUsedBody",
    "PutContactBody",
    "Receipt",
    "ReceiptCheckBody",
    "ReceiptDeleted",
    "RecommendationsBody",
    "RecommendedItem",
    "RestrictionBody",
    "RevokedBody",
    "RotatedKeyBody",
    "RotateInput",
    "RunBody",
    "RunBodyExcluded",
    "SegmentBatch",
    "SegmentBody",
    "SegmentInput",
    "SegmentList",
    "ServedBody",
    "SignalEffectBody",
    "SignalsInput",
    "SignalsInputConsentModeType0",
    "SignalsResponse",
    "SignedReceipt",
    "SimilarBody",
    "SlotFairnessBody",
    "StoredEventBody",
    "StoredEventBodyProperties",
    "SubjectFactsBody",
    "SubjectFactsInput",
    "SubjectOutcomeBody",
    "SubjectOutcomes",
    "SubjectTokenBody",
    "SubjectTokenRequest",
    "TimeZoneBody",
    "TokenKeysRotatedBody",
    "UnsubscribedBody",
    "UnsubscribeForm",
    "UpsertResult",
    "VisitorSessionBody",
    "VisitorSessionRequest",
)

import type { EventType, WebhookPayload } from './events.js';

/** The three sample payloads of the public Webhooks page, verbatim. */
export const SEED_EXAMPLES: { [K in EventType]: WebhookPayload<K> } = {
  'call.started': {
    event: 'call.started',
    timestamp: '2024-01-15T10:30:00Z',
    data: {
      call_id: 'call_abc123',
      direction: 'inbound',
      from: '+15551234567',
      to: '+15559876543',
      agent_id: 'agent_xyz',
    },
  },
  'call.ended': {
    event: 'call.ended',
    timestamp: '2024-01-15T10:35:00Z',
    data: {
      call_id: 'call_abc123',
      duration_seconds: 300,
      status: 'completed',
      transcript: '...',
      summary: 'Customer called to schedule appointment for dog checkup.',
      sentiment: 'positive',
      actions: [
        {
          type: 'appointment_scheduled',
          details: { date: '2024-01-20', time: '14:00', type: 'wellness_exam' },
        },
      ],
    },
  },
  'appointment.created': {
    event: 'appointment.created',
    timestamp: '2024-01-15T10:32:00Z',
    data: {
      appointment_id: 'appt_def456',
      call_id: 'call_abc123',
      client_name: 'John Smith',
      patient_name: 'Buddy',
      date: '2024-01-20',
      time: '14:00',
      type: 'wellness_exam',
    },
  },
};

